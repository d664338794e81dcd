# Fine-tuning a pretrained R(2+1)D on Kinetics (paper section 4.4, Sports-1M -> Kinetics):
# learning rate 0.001 per GPU of 32 clips (stated for 8 GPUs x 32 clips, auto-scaled),
# divided by 10 every 4 epochs, 15 epochs of 1M clips; no warm-up. The experiment config
# names the checkpoint (`load_from`).
_base_ = ['./sgd_45e_warmup.py']

train_cfg = dict(max_epochs=15, val_interval=1)
optim_wrapper = dict(optimizer=dict(lr=0.001 * 8))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=15, milestones=[4, 8, 12],
         gamma=0.1),
]
