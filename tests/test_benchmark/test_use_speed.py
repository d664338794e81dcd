"""The use side's speed and memory figures (the benchmark's rows) are computed from real runs:
counts of what ran, positive rates, a peak memory at least the loaded model's. No timing is
asserted."""
import decord

from r21d_plugin.benchmark.use_speed import inference_throughput, timeline_memory, write_test_video


def test_generated_videos_have_the_asked_length_and_size(tmp_path):
    path = write_test_video(str(tmp_path / 'video.mp4'), seconds=2, fps=15, size=(48, 64))
    reader = decord.VideoReader(path)
    assert len(reader) == 30 and reader[0].shape == (48, 64, 3)
    assert abs(reader.get_avg_fps() - 15) < 0.01


def test_throughput_and_memory_come_from_runs(tiny_recognizers, tmp_path):
    config, checkpoint = tiny_recognizers['rgb']
    one_second = write_test_video(str(tmp_path / 'one_second.mp4'), seconds=1, size=(48, 64))
    speed = inference_throughput(config, one_second, checkpoint, num_videos=1, stride=4)
    # 30 frames: 10 test clips; windows of span 15 every 4 frames: starts 0, 4, ..., 12
    assert speed['frames'] == 30 and speed['clips_per_video'] == 10 and speed['windows'] == 4
    assert speed['videos_per_s'] > 0 and speed['windows_per_s'] > 0
    # (timeline_peak_memory runs this in a fresh process)
    video = write_test_video(str(tmp_path / 'three_seconds.mp4'), seconds=3)
    memory = timeline_memory(config, video, checkpoint)
    assert memory['frames'] == 90 and memory['windows'] == 5  # span 15 every 16 frames
    assert memory['peak_mb'] >= memory['loaded_mb'] > 0
