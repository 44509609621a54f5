#!/usr/bin/env bash
# Runs Tessera's gpu-tagged tests on this machine in one call, with the kit's own Java runtime and this machine's
# libtorch (no JDK, no registry needed). A missing CUDA device fails the run (tessera.gpu.required=true); it never
# skips silently. Exit status: 0 every gpu test ran and passed, 1 a test failed, 2 no test was found, 3 the kit
# cannot even start the tests (the message says what is missing), 4 some tests were skipped or aborted.
#
# Usage: ./run-gpu-tests.sh [JUNIT_CONSOLE_OPTIONS...]   e.g. --select-method dev.tessera.assigner.GpuPlacementTest#...
# Settings (environment):
#   TORCH_LIB        libtorch's lib folder (holds libtorch.so). Default: lib/ beside python3's torch package.
#   PYTORCH_VERSION  that libtorch's version, e.g. 2.11.0. Default: python3's torch.__version__ without "+...".
#   PYTORCH_FLAVOR   cpu, or cu + the CUDA version without dots, e.g. cu130. Default: from torch.version.cuda.
#   DJL_JNI          a libdjl_torch.so built for that libtorch. Default: one already beside libtorch, one built by an
#                    earlier run, or one built now from the kit's jni-src/ with c++ (needs libtorch's headers,
#                    which a pip torch has in torch/include).
#   KIT_WORK         a writable folder for the JNI cache and the reports. Default: work/ in the kit.
#   OUT              if set, the JUnit XML reports and the run log are written there too.
#   TESSERA_GPU_REQUIRED=false  let gpu tests skip without a GPU (to check the kit itself on a CPU machine).
#   TESSERA_NCCL_LIBRARY, TESSERA_CUDART_LIBRARY  libnccl.so.2 and libcudart for the distributed module's NCCL
#                    engine. Default: python3's nvidia.nccl package and the libcudart found for DJL. Tests tagged
#                    multi-gpu (two NCCL ranks need two GPUs) are left out when torch sees fewer than two GPUs.
set -uo pipefail

KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${KIT_WORK:-$KIT/work}"
DJL_API=0.35.1
say() { echo "run-gpu-tests: $*" >&2; }
die() { echo "run-gpu-tests: $*" >&2; exit 3; }
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi

mkdir -p "$WORK" || die "KIT_WORK=$WORK is not writable; set KIT_WORK to a writable folder"
TORCH_DIR=""
if [ -z "${TORCH_LIB:-}" ]; then
  command -v python3 >/dev/null || die "no python3 on the PATH to find torch; set TORCH_LIB to libtorch's lib folder"
  INFO="$(python3 -c 'import os, torch
print(os.path.dirname(torch.__file__)); print(torch.__version__); print(torch.version.cuda or "")
print(torch.cuda.is_available()); print(torch.cuda.device_count() if torch.cuda.is_available() else 0)
print(int(torch.compiled_with_cxx11_abi()))' 2> "$WORK/python3.err")" \
    || die "python3 cannot import torch: $(cat "$WORK/python3.err"); set TORCH_LIB to libtorch's lib folder instead"
  { read -r TORCH_DIR; read -r PY_VERSION; read -r PY_CUDA; read -r PY_CUDA_OK; read -r PY_GPUS; read -r PY_ABI; } <<< "$INFO"
  TORCH_LIB="$TORCH_DIR/lib"
  say "python3's torch: $PY_VERSION at $TORCH_DIR (CUDA ${PY_CUDA:-none}; torch.cuda.is_available()=$PY_CUDA_OK, devices=$PY_GPUS)"
  : "${PYTORCH_VERSION:=${PY_VERSION%%+*}}"
  if [ -n "$PY_CUDA" ]; then : "${PYTORCH_FLAVOR:=cu${PY_CUDA//./}}"; else : "${PYTORCH_FLAVOR:=cpu}"; fi
else
  TORCH_DIR="$(dirname "$TORCH_LIB")"
fi
[ -f "$TORCH_LIB/libtorch.so" ] || die "no libtorch.so in TORCH_LIB=$TORCH_LIB"
[ -n "${PYTORCH_VERSION:-}" ] || die "set PYTORCH_VERSION to the version of the libtorch in $TORCH_LIB (e.g. 2.11.0)"
[ -n "${PYTORCH_FLAVOR:-}" ] || die "set PYTORCH_FLAVOR for the libtorch in $TORCH_LIB (cpu, or e.g. cu130)"
command -v nvidia-smi >/dev/null && { say "nvidia-smi -L:"; nvidia-smi -L >&2 || true; } || say "no nvidia-smi on the PATH"

# DJL (LibUtils.findJniLibrary) looks for its JNI beside libtorch, then in
# $ENGINE_CACHE_DIR/pytorch/<version>-<flavor>-linux-x86_64/<djl version>-libdjl_torch.so.
export PYTORCH_LIBRARY_PATH="$TORCH_LIB" PYTORCH_VERSION PYTORCH_FLAVOR
export ENGINE_CACHE_DIR="$WORK/engines" DJL_CACHE_DIR="$WORK/djl"
JNI_DIR="$ENGINE_CACHE_DIR/pytorch/$PYTORCH_VERSION-$PYTORCH_FLAVOR-linux-x86_64"
JNI="$JNI_DIR/$DJL_API-libdjl_torch.so"
mkdir -p "$JNI_DIR"

build_jni() { # builds DJL's JNI against the libtorch in $TORCH_DIR, like DJL's build.sh but without cmake
  local src="$KIT/jni-src" inc="$TORCH_DIR/include" obj="$WORK/jni-obj" abi="${PY_ABI:-1}" cxx
  [ -d "$src" ] || die "no libdjl_torch.so for libtorch $PYTORCH_VERSION ($PYTORCH_FLAVOR), and this kit carries no
  JNI sources (rebuild the kit with ./tessera gpu-kit --djl-src <a DJL v$DJL_API checkout>). Or set DJL_JNI to one built for it."
  [ -f "$inc/torch/script.h" ] || die "cannot build the JNI: no libtorch headers in $inc (set TORCH_LIB to a libtorch with include/)"
  cxx="$(command -v "${CXX:-c++}" || command -v g++ || command -v clang++)" \
    || die "cannot build the JNI: no C++ compiler (c++, g++ or clang++) on the PATH; set DJL_JNI to a prebuilt one"
  say "building DJL $DJL_API's JNI against libtorch $PYTORCH_VERSION with $cxx (-D_GLIBCXX_USE_CXX11_ABI=$abi)..."
  rm -rf "$obj"; mkdir -p "$obj"
  local flags=(-std=c++17 -O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI="$abi" -I"$src/include" -I"$inc"
               -I"$inc/torch/csrc/api/include" -w)
  # one compiler per core (each needs about 1 GiB with libtorch's headers)
  export CXX_BIN="$cxx" OBJ="$obj"; export CXX_FLAGS="${flags[*]}"
  if ! printf '%s\0' "$src"/*.cc | xargs -0 -n 1 -P "$(nproc 2>/dev/null || echo 4)" sh -c \
        'n=$(basename "$1" .cc); $CXX_BIN $CXX_FLAGS -c "$1" -o "$OBJ/$n.o" 2> "$OBJ/$n.log"' sh; then
    grep -h -m 5 'error' "$obj"/*.log >&2; die "compiling DJL's JNI failed (compiler logs in $obj)"
  fi
  local libs=(-ltorch -ltorch_cpu -lc10)
  [ -f "$TORCH_LIB/libtorch_cuda.so" ] && libs+=(-ltorch_cuda -lc10_cuda)
  "$cxx" -shared -o "$JNI.tmp" "$obj"/*.o -L"$TORCH_LIB" -Wl,-rpath,"$TORCH_LIB" "${libs[@]}" \
    || die "linking DJL's JNI failed"
  mv "$JNI.tmp" "$JNI"
}

if [ -n "${DJL_JNI:-}" ]; then
  [ -f "$DJL_JNI" ] || die "DJL_JNI=$DJL_JNI: no such file"; cp "$DJL_JNI" "$JNI"; say "JNI: $DJL_JNI"
elif [ -f "$TORCH_LIB/$DJL_API-libdjl_torch.so" ] || [ -f "$TORCH_LIB/libdjl_torch.so" ]; then
  say "JNI: beside libtorch in $TORCH_LIB"
elif [ -f "$JNI" ]; then
  say "JNI: $JNI (built by an earlier run)"
else
  build_jni; say "JNI: built $JNI"
fi

# DJL's CudaUtils (free GPU memory, through JNA) loads libcudart itself; a pip torch keeps it in site-packages/nvidia/,
# off the loader's path, so point JNA at it (JNA also matches a versioned libcudart.so.13).
CUDART="$(find "$(dirname "$TORCH_DIR")/nvidia" "$TORCH_LIB" /usr/local/cuda/lib64 -name 'libcudart.so*' 2>/dev/null | head -n 1)"
JNA_PATH=()
if [ -n "$CUDART" ]; then JNA_PATH=(-Djna.library.path="$(dirname "$CUDART")"); say "cudart for DJL's CudaUtils: $CUDART"
elif [[ "$PYTORCH_FLAVOR" == cu* ]]; then say "no libcudart found beside torch or in /usr/local/cuda: DJL's CudaUtils cannot read GPU memory"; fi

# The distributed module's NCCL engine loads libnccl.so.2 and libcudart through FFM: point it at pip's copies
# (nvidia-nccl-cu13 beside torch) unless they are set already; it would otherwise search the loader's path.
if [ -z "${TESSERA_NCCL_LIBRARY:-}" ] && command -v python3 >/dev/null; then
  NCCL_DIR="$(python3 -c 'import nvidia.nccl as n; print(list(n.__path__)[0])' 2>/dev/null)" || NCCL_DIR=""
  NCCL_SO=""; [ -n "$NCCL_DIR" ] && NCCL_SO="$(ls "$NCCL_DIR"/lib/libnccl.so* 2>/dev/null | sort | tail -n 1)"
  if [ -n "$NCCL_SO" ]; then export TESSERA_NCCL_LIBRARY="$NCCL_SO"; say "NCCL: $NCCL_SO (python3's nvidia.nccl)"
  else say "python3 has no nvidia.nccl package: the NCCL engine searches the loader's path for libnccl.so.2"; fi
fi
if [ -z "${TESSERA_CUDART_LIBRARY:-}" ] && [ -n "$CUDART" ]; then export TESSERA_CUDART_LIBRARY="$CUDART"; fi
TAGS=(--include-tag gpu)
if [ -n "${PY_GPUS:-}" ] && [ "$PY_GPUS" -lt 2 ] 2>/dev/null; then
  TAGS+=(--exclude-tag multi-gpu); say "torch sees $PY_GPUS GPU(s): tests tagged multi-gpu (two NCCL ranks, two GPUs) are left out"
fi

REQUIRED="${TESSERA_GPU_REQUIRED:-true}"
REPORTS="$WORK/reports"; rm -rf "$REPORTS"; mkdir -p "$REPORTS"
CP="$(sed "s#lib/#$KIT/lib/#g" "$KIT/lib/classpath")"
SCAN="$(sed "s#lib/#$KIT/lib/#g" "$KIT/lib/scan")"
say "PYTORCH_LIBRARY_PATH=$PYTORCH_LIBRARY_PATH PYTORCH_VERSION=$PYTORCH_VERSION PYTORCH_FLAVOR=$PYTORCH_FLAVOR tessera.gpu.required=$REQUIRED"
"$KIT/jre/bin/java" -Dai.djl.offline=true --enable-native-access=ALL-UNNAMED -Xss4m \
    -Dtessera.gpu.required="$REQUIRED" "${JNA_PATH[@]}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -jar "$KIT/lib/junit-platform-console-standalone.jar" execute --disable-banner --disable-ansi-colors --details=tree \
    --class-path "$CP" --scan-class-path "$SCAN" "${TAGS[@]}" --fail-if-no-tests \
    --config junit.jupiter.extensions.autodetection.enabled=true --reports-dir "$REPORTS" "$@" 2>&1 | tee "$REPORTS/run.log"
RC=${PIPESTATUS[0]}
[ -n "${OUT:-}" ] && { mkdir -p "$OUT/gpu-test-reports" && cp -r "$REPORTS"/. "$OUT/gpu-test-reports/"; }
count() { sed -n "s/^\[ *\([0-9]*\) tests $1 *\]$/\1/p" "$REPORTS/run.log" | tail -n 1; }
FOUND="$(count found)"; PASSED="$(count successful)"
# the launcher exits 0 when tests were skipped or aborted (an assumption failed): that is not a pass here
if [ "$RC" -eq 0 ] && [ "${PASSED:-0}" != "${FOUND:-0}" ]; then RC=4; fi
case $RC in
  0) say "PASSED: all $FOUND gpu tests ran and passed (report: $REPORTS)" ;;
  4) say "NOT RUN: only ${PASSED:-0} of ${FOUND:-?} gpu tests passed, the others were skipped or aborted (exit 4; report: $REPORTS)" ;;
  2) say "NO TESTS: the launcher found no gpu-tagged test (report: $REPORTS)" ;;
  *) say "FAILED (exit $RC): see the failures above (report: $REPORTS)"
     grep -q 'sees 0 CUDA devices' "$REPORTS/run.log" && say "cause: DJL sees no CUDA device with this libtorch" ;;
esac
exit "$RC"
