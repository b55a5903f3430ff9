#!/bin/sh
# The smoke tests' harness for cairn-bench (registered in CMakeLists.txt, run by ctest):
#
#   check.sh quiet BENCH ARGS...         exit 0, a result on stdout, nothing on stderr (stderr is not a terminal
#                                        here, so no progress line may appear)
#   check.sh tty BENCH ARGS...           under script(1), so that stderr is a terminal: exit 0 and a progress line
#   check.sh fails REGEX BENCH ARGS...   a non-zero exit, nothing on stdout, and stderr matching REGEX (grep -E)
set -u
mode=$1
shift
regex=
if [ "$mode" = fails ]; then
  regex=$1
  shift
fi
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
fail() {
  echo "check.sh $mode: $*"
  echo "--- stdout"; cat "$out"
  echo "--- stderr"; cat "$err"
  exit 1
}
case "$mode" in
  quiet)
    "$@" > "$out" 2> "$err" || fail "exit code $? from $*"
    [ -s "$out" ] || fail "no result on stdout"
    [ -s "$err" ] && fail "stderr is not empty"
    ;;
  tty)
    # script -e: its exit code is the command's; -c runs it with the terminal as stdin, stdout and stderr.
    script -qec "$*" /dev/null > "$out" 2> "$err" || fail "exit code $? from $*"
    grep -q "$(printf '\r')"'.*\[[a-z-]* cairn' "$out" || fail "no progress line on the terminal"
    ;;
  fails)
    "$@" > "$out" 2> "$err" && fail "exit code 0 from $*"
    [ -s "$out" ] && fail "a figure on stdout"
    grep -Eq -- "$regex" "$err" || fail "stderr does not match $regex"
    ;;
  *)
    echo "check.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
exit 0
