"""Evaluation: clip@1 / video@1 metrics and accuracy against the number of test clips."""
