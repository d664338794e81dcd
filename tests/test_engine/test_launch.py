"""CPU-safe distributed launching: gloo, DDP without device ids, clear refusals."""
import pytest
import torch.distributed as dist
from helpers import free_port
from mmengine.config import Config

from r21d_plugin.engine.launch import launched, prepare_launch


def test_no_launcher_changes_nothing():
    cfg = Config(dict(launcher='none'))
    prepare_launch(cfg)
    assert 'model_wrapper_cfg' not in cfg and not dist.is_initialized()


def test_pytorch_launcher_on_cpu_joins_gloo_and_asks_ddp_for_no_device(monkeypatch):
    for name, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                            MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(name, value)
    cfg = Config(dict(launcher='pytorch', find_unused_parameters=True))
    with launched(cfg):
        assert dist.is_initialized() and dist.get_backend() == 'gloo'
        assert cfg.model_wrapper_cfg == dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=True, device_ids=None)
    assert not dist.is_initialized()


def test_slurm_variables_become_torchrun_ones(monkeypatch):
    port = str(free_port())
    for name, value in dict(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0',
                            SLURM_NODELIST='node1', MASTER_ADDR='127.0.0.1',
                            MASTER_PORT=port).items():
        monkeypatch.setenv(name, value)
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
        monkeypatch.delenv(name, raising=False)
    with launched(Config(dict(launcher='slurm'))):
        assert dist.get_world_size() == 1 and dist.get_rank() == 0
    import os
    assert (os.environ['RANK'], os.environ['WORLD_SIZE']) == ('0', '1')


def test_refusals_name_the_problem(monkeypatch):
    with pytest.raises(ValueError, match='launcher must be one of'):
        prepare_launch(Config(dict(launcher='mpi')))
    with pytest.raises(ValueError, match='sync_bn needs GPUs'):
        prepare_launch(Config(dict(launcher='pytorch', sync_bn='torch')))
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match='dist_train.sh or torchrun'):
        prepare_launch(Config(dict(launcher='pytorch')))
    monkeypatch.delenv('SLURM_PROCID', raising=False)
    with pytest.raises(RuntimeError, match='under srun'):
        prepare_launch(Config(dict(launcher='slurm')))


def _any_rank_worker(rank, init_file, out_dir):
    import torch.distributed as dist

    from r21d_plugin.engine.launch import any_rank

    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=2)
    answers = (any_rank(rank == 1), any_rank(False), any_rank(True))
    dist.destroy_process_group()
    with open(f'{out_dir}/{rank}', 'w') as file:
        file.write(repr(answers))


def test_any_rank_agrees_across_processes(tmp_path):
    """What keeps ranks in step: a preemption signal or a NaN seen by one rank only."""
    import torch.multiprocessing as mp

    mp.start_processes(_any_rank_worker, args=(str(tmp_path / 'init'), str(tmp_path)),
                       nprocs=2, start_method='fork')
    assert [(tmp_path / str(rank)).read_text() for rank in (0, 1)] == [
        '(True, False, True)'] * 2


def test_any_rank_without_a_process_group_is_the_flag():
    from r21d_plugin.engine.launch import any_rank
    assert any_rank(True) is True and any_rank(False) is False
