#!/usr/bin/env bash
# check-deps.sh [bench]: fails, one line per program, when a program the tests run is
# not installed, naming the Debian package to install (deps.sh installs them all).
#
# The programs are programs.txt's (its `test` and `build` sets; with `bench`, `make
# bench`'s too). That list cannot drift from the code unnoticed: programs.py reads the
# tests, the harness, the scripts and the Makefile, and fails when they run a program
# the list lacks, or when the list names one that nothing runs any more.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/programs.sh"
program_sets check-deps.sh "${1:-}"

problems=0
while read -r program package; do
  if [[ $program == /* ]]; then
    compgen -G "$program" >/dev/null && continue  # a file, or a glob of one
  else
    type -P "$program" >/dev/null && continue  # on PATH, not a shell builtin
  fi
  echo "check-deps: $program is missing: install Debian's $package" \
    "(tests/harness/deps.sh${1:+ $1} does)" >&2
  problems=$((problems + 1))
done < <(program_rows)

# The list itself, against the code (needs python3, which the loop above checked).
if type -P python3 >/dev/null; then
  python3 "$here/programs.py" "$here/programs.txt" >&2 || problems=$((problems + 1))
fi
[ "$problems" -eq 0 ] || exit 1
echo "check-deps: every program the tests run is installed, and programs.txt lists them all"
