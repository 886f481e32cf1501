"""xdd benchmarks."""
