"""Engine: launching (CPU distributed included), hooks and safe checkpoints."""
