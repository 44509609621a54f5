#!/usr/bin/env bash
# Builds the GPU kit (./tessera gpu-kit): everything a bare CUDA machine needs to run Tessera's gpu-tagged tests in
# one call, with no JDK and no registry there. Output: target/gpu-kit/ and target/gpu-kit.tar.gz (not committed).
#
#   jre/        a jlinked Java runtime (only the modules jdeps finds in the jars below)
#   lib/        the gpu test modules' classes and test classes as jars, their test class path less libtorch
#               (no pytorch-native-*, no pytorch-jni: the machine's own libtorch is used), JUnit's console launcher
#   jni-src/    DJL 0.35.1's JNI sources (only with --djl-src), so run-gpu-tests.sh can build libdjl_torch.so
#               against the machine's libtorch
#   run-gpu-tests.sh, KIT.txt
#
# Usage: gpu-kit/build-kit.sh [--djl-src DJL_CHECKOUT] [--max-mib N]
#   --djl-src  a checkout of github.com/deepjavalibrary/djl at tag v0.35.1: the JNI's C++ sources are not published
#              to Maven Central, and Tessera does not copy them into its own repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIT="$ROOT/target/gpu-kit"
DJL_SRC=""
MAX_MIB=64
DJL_VERSION=0.35.1
JUNIT_PLATFORM=1.11.4

die() { echo "gpu-kit: $*" >&2; exit 1; }
say() { echo "gpu-kit: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --djl-src) [ $# -ge 2 ] || die "--djl-src needs a folder"; DJL_SRC="$(cd "$2" && pwd)" || die "--djl-src: no folder '$2'"; shift 2 ;;
    --max-mib) [ $# -ge 2 ] && [ "$2" -gt 0 ] 2>/dev/null || die "--max-mib needs a whole number > 0"; MAX_MIB="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
done
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/jlink" ] || die "JAVA_HOME must be a JDK 25 with jlink (JAVA_HOME='${JAVA_HOME:-}')"
JNI_NATIVE="$DJL_SRC/engines/pytorch/pytorch-native/src/main/native"
if [ -n "$DJL_SRC" ] && [ ! -f "$JNI_NATIVE/ai_djl_pytorch_jni_PyTorchLibrary_system.cc" ]; then
  die "--djl-src $DJL_SRC has no $JNI_NATIVE/ai_djl_pytorch_jni_PyTorchLibrary_system.cc (check out DJL's tag v$DJL_VERSION)"
fi

cd "$ROOT"
# The modules that have gpu-tagged tests: their test classes go into the kit.
mapfile -t MODULES < <(grep -rlE --include='*.java' '@Tag\("gpu"\)' ./*/src/test/java 2>/dev/null | cut -d/ -f2 | sort -u)
[ ${#MODULES[@]} -gt 0 ] || die "no module has a test tagged gpu"
say "gpu tests in: ${MODULES[*]}"
PL="$(IFS=,; echo "${MODULES[*]}")"

say "compiling (mvn -Pgpu test-compile; the gpu profile adds GpuRequiredCheck to the test classes)..."
mvn -B -q -ntp -Dstyle.color=never -Pgpu -DskipTests -pl "$PL" -am test-compile dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile=target/gpu-kit.classpath 2>&1 | sed 's/\x1b\[0m//g' >&2 \
  || die "the build failed; run 'mvn -Pgpu -DskipTests -pl $PL -am test-compile' to see why"

rm -rf "$KIT" "$ROOT/target/gpu-kit.tar.gz"
mkdir -p "$KIT/lib"
declare -A SEEN=()
CP=()      # class path entries, relative to the kit
SCAN=()    # the test-classes jars the launcher scans for tests

add_jar() { # source jar -> lib/, once
  local name; name="$(basename "$1")"
  [ -n "${SEEN[$name]:-}" ] && return 0
  SEEN[$name]=1; cp "$1" "$KIT/lib/$name"; CP+=("lib/$name")
}
add_dir() { # classes folder -> lib/NAME.jar, once
  local name="$2.jar"
  [ -n "${SEEN[$name]:-}" ] && return 0
  SEEN[$name]=1; "$JAVA_HOME/bin/jar" --create --file "$KIT/lib/$name" -C "$1" .; CP+=("lib/$name")
}

for m in "${MODULES[@]}"; do
  add_dir "$m/target/test-classes" "$m-tests"; SCAN+=("lib/$m-tests.jar")
  add_dir "$m/target/classes" "$m"
  IFS=: read -r -a entries < "$m/target/gpu-kit.classpath" || true # (no newline at its end)
  for e in "${entries[@]}"; do
    case "$(basename "$e")" in
      # libtorch and DJL's JNI come from the machine (run-gpu-tests.sh); JUnit comes with the console launcher
      pytorch-native-*|pytorch-jni-*|junit-*|opentest4j-*|apiguardian-*) continue ;;
    esac
    if [ -d "$e" ]; then # a reactor module: .../MODULE/target/classes or test-classes
      local_mod="$(basename "$(dirname "$(dirname "$e")")")"
      suffix=""; [ "$(basename "$e")" = test-classes ] && suffix="-tests"
      add_dir "$e" "$local_mod$suffix"
    else
      add_jar "$e"
    fi
  done
done
LAUNCHER="$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/$JUNIT_PLATFORM/junit-platform-console-standalone-$JUNIT_PLATFORM.jar"
if [ ! -f "$LAUNCHER" ]; then
  mvn -B -q -ntp dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM" \
      -Dtransitive=false >&2 || die "cannot fetch junit-platform-console-standalone $JUNIT_PLATFORM"
fi
cp "$LAUNCHER" "$KIT/lib/junit-platform-console-standalone.jar"
(IFS=:; echo "${CP[*]}") > "$KIT/lib/classpath"
(IFS=:; echo "${SCAN[*]}") > "$KIT/lib/scan"

jdk_modules() { # the JDK modules one jar needs, comma-separated
  local out tmp
  if out="$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps \
            --class-path "$KIT/lib/*" "$1" 2>/dev/null)"; then echo "$out"; return 0; fi
  # a modular jar whose own module requires one that is absent (commons-compress -> commons-lang3, an optional
  # feature): read its classes as plain class path classes instead
  tmp="$(mktemp -d)"
  (cd "$tmp" && "$JAVA_HOME/bin/jar" --extract --file "$1") && find "$tmp" -name module-info.class -delete
  out="$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps \
         --class-path "$KIT/lib/*" "$tmp")" || { rm -rf "$tmp"; die "jdeps failed on $1"; }
  rm -rf "$tmp"; echo "$out"
}
say "finding the Java modules the jars need (jdeps, one jar at a time)..."
# What jdeps cannot see: JNA and gson reach sun.misc.Unsafe by reflection (jdk.unsupported), and JUnit opens the
# test jars as zip file systems, a service provider (jdk.zipfs; without it no test is found).
MODS="jdk.unsupported,jdk.zipfs"
for j in "$KIT"/lib/*.jar; do MODS="$MODS,$(jdk_modules "$j")"; done
# java.desktop is left out: jdeps lists it because DJL's image classes (BufferedImageFactory) and JNA's AWT helpers
# name java.awt, but the gpu tests load neither, and it costs 15 MiB of the 64 MiB a GPU run may carry (the kit
# runs its tests without it: a test that needs it fails with NoClassDefFoundError: java/awt/...).
MODS="$(echo "$MODS" | tr ',' '\n' | grep -E '^(java|jdk)\.' | grep -vx 'java.desktop' | sort -u | paste -sd, -)"
say "jlink --add-modules $MODS"
"$JAVA_HOME/bin/jlink" --add-modules "$MODS" --strip-debug --no-man-pages --no-header-files --compress=zip-9 \
    --output "$KIT/jre" || die "jlink failed"

if [ -n "$DJL_SRC" ]; then
  say "carrying DJL $DJL_VERSION's JNI sources from $DJL_SRC"
  mkdir -p "$KIT/jni-src/include/djl" "$KIT/jni-src/classes"
  cp "$JNI_NATIVE"/*.cc "$JNI_NATIVE"/*.h "$KIT/jni-src/"
  cp "$DJL_SRC/api/src/main/native/djl/utils.h" "$KIT/jni-src/include/djl/"
  cp "$JAVA_HOME/include/jni.h" "$JAVA_HOME/include/linux/jni_md.h" "$KIT/jni-src/include/"
  # ai_djl_pytorch_jni_PyTorchLibrary.h, as DJL's build.sh makes it (javac -h on PyTorchLibrary.java)
  "$JAVA_HOME/bin/javac" -nowarn -h "$KIT/jni-src/include" -d "$KIT/jni-src/classes" \
      -sourcepath "$DJL_SRC/engines/pytorch/pytorch-engine/src/main/java" -cp "$KIT/lib/*" \
      "$DJL_SRC/engines/pytorch/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java" >/dev/null 2>&1 \
    || die "javac -h on DJL's PyTorchLibrary.java failed"
  rm -rf "$KIT/jni-src/classes"
  (cd "$DJL_SRC" && git describe --tags 2>/dev/null || echo "$DJL_SRC, not a git checkout: taken to be v$DJL_VERSION") > "$KIT/jni-src/DJL_VERSION"
  [ -f "$DJL_SRC/LICENSE" ] && cp "$DJL_SRC/LICENSE" "$KIT/jni-src/LICENSE"
fi

cp "$ROOT/gpu-kit/run-gpu-tests.sh" "$KIT/run-gpu-tests.sh"; chmod +x "$KIT/run-gpu-tests.sh"
cat > "$KIT/KIT.txt" <<TXT
Tessera GPU kit, built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
gpu test modules: ${MODULES[*]}
java modules: $MODS
DJL: $DJL_VERSION (JNI sources: $( [ -n "$DJL_SRC" ] && cat "$KIT/jni-src/DJL_VERSION" || echo 'not carried'))
Run: ./run-gpu-tests.sh   (./run-gpu-tests.sh --help for the settings)
TXT

tar -C "$ROOT/target" -czf "$ROOT/target/gpu-kit.tar.gz" gpu-kit
BYTES=$(du -sb "$KIT" | cut -f1)
TGZ=$(stat -c %s "$ROOT/target/gpu-kit.tar.gz")
say "kit: $KIT ($((BYTES / 1048576)) MiB, $BYTES bytes); archive: target/gpu-kit.tar.gz ($((TGZ / 1048576)) MiB)"
if [ "$BYTES" -gt $((MAX_MIB * 1048576)) ]; then
  du -ab "$KIT" | sort -rn | sed -n '2,11p' >&2
  die "the kit is $BYTES bytes, over the limit of $MAX_MIB MiB; the largest files are above"
fi
