# Training from scratch (paper section 4.1, Kinetics and Sports-1M): synchronous SGD,
# momentum 0.9 (Nesterov, as VMZ), weight decay 1e-4, 45 epochs of 1M clips (the epoch
# size is the train sampler's, in the dataset base), linear warm-up over the first 10
# epochs, learning rate divided by 10 every 10 epochs.
# Learning rate: 0.01 per GPU of 32 clips, scaled linearly with the number of GPUs (VMZ
# multiplies its base rate by the GPU count; the paper warms up to it as Goyal et al.).
# Stated here for 8 GPUs x 32 clips; auto_scale_lr rescales it for any other total batch.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=45, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.01 * 8, momentum=0.9, nesterov=True, weight_decay=1e-4))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=45, milestones=[10, 20, 30, 40],
         gamma=0.1),
]

auto_scale_lr = dict(enable=True, base_batch_size=8 * 32)
