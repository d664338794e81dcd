# Fine-tuning R(2+1)D-34 on UCF101 (VMZ's scripts for the paper's Table 6): learning rate
# 1e-4 per GPU of 4 clips (stated for 8 GPUs x 4 clips, auto-scaled), weight decay 5e-3,
# divided by 10 every 2 epochs, 8 epochs of 100k clips (the dataset base's sampler).
_base_ = ['./sgd_45e_warmup.py']

train_cfg = dict(max_epochs=8, val_interval=1)
optim_wrapper = dict(optimizer=dict(lr=1e-4 * 8, weight_decay=5e-3))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=8, milestones=[2, 4, 6],
         gamma=0.1),
]
auto_scale_lr = dict(base_batch_size=8 * 4)
