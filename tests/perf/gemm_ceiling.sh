# Sourced by the benchmarks that report a share of the machine's fp32 GEMM ceiling:
# gemm_ceiling SGEMM_C prints the best GFLOP/s of ../shared/anchors/sgemm.c (OpenBLAS, 2 threads)
# and says so on stderr, or prints nothing (and says why) when it cannot be built.
gemm_ceiling() {
  local best
  if [ -f "$1" ] && gcc -O2 "$1" -o sgemm -lopenblas 2>/dev/null; then
    best=$(OPENBLAS_NUM_THREADS=2 ./sgemm | sed -nE 's/.*GFLOP\/s=([0-9.]+).*/\1/p' | sort -g | tail -1)
    echo "fp32 GEMM ceiling (sgemm.c, 2 threads, best size): $best GFLOP/s" >&2
    echo "$best"
  else
    echo "fp32 GEMM ceiling: skipped (sgemm.c needs gcc and libopenblas-dev)" >&2
  fi
}
