# Test only: the loop tools/test.py runs, for configs of published weights (configs/pretrained)
# that are tested as they are, not trained.
test_cfg = dict(type='TestLoop')
