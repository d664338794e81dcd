# Fine-tuning R(2+1)D-34 on HMDB51 (VMZ's scripts for the paper's Table 6): the UCF101
# recipe with learning rate 2e-4 per GPU of 4 clips, over epochs of 40k clips.
_base_ = ['./sgd_8e_finetune_ucf101.py']

optim_wrapper = dict(optimizer=dict(lr=2e-4 * 8))
