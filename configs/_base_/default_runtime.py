# Runtime shared by every config of the plugin: MMAction2's defaults, plus the plugin
# import, TensorBoard logging, and checkpoints that keep the last few and the best.
_base_ = ['mmaction::_base_/default_runtime.py']

custom_imports = dict(imports=['r21d_plugin'], allow_failed_imports=False)
default_scope = 'mmaction'

# Checkpoints written atomically (a kill mid-save keeps the previous one), and every epoch
# reseeded from (seed, epoch) so that `--resume` replays the run (r21d_plugin.engine.checkpoint).
# SIGTERM / SIGUSR1 (Slurm preemption, `#SBATCH --signal=USR1@120`): finish the iteration,
# save preempted.pth, exit with status 75 (engine.preemption). A NaN or infinite loss stops
# the run before it reaches the weights (engine.non_finite; action='skip' drops such batches).
default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'),
    epoch_seed=dict(type='EpochSeedHook'),
    preemption=dict(type='PreemptionHook', signals=('SIGTERM', 'SIGUSR1')),
    non_finite_loss=dict(type='NonFiniteLossHook', action='stop'))

# The paper's clip-level runs are long: cudnn picks the fastest 3D conv algorithms once.
env_cfg = dict(cudnn_benchmark=True)

# torch.compile of the training step (mmengine's switch): True, or a dict of torch.compile's
# arguments. Off by default: it costs minutes of compilation per run and changes float
# rounding (docs/performance.md).
compile = False

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)
