# programs.sh: what deps.sh and check-deps.sh both read from programs.txt, sourced by
# each (the caller's argument is `bench` or nothing).
#
# program_sets CALLER [bench]: sets `sets` to the names of the sets asked for, each
# between spaces (" test build bench "), or stops the caller with its usage line.
program_sets() {
  sets=" test build ${2:-} "
  case $sets in
    " test build  " | " test build bench ") ;;
    *) echo "usage: $1 [bench]" >&2; exit 2 ;;
  esac
}

# program_rows: `PROGRAM PACKAGE`, one line for each of programs.txt's programs in
# `sets` that some package installs (PACKAGE `-` is none).
program_rows() {
  awk -v sets="$sets" '{ sub(/#.*/, "") }
    NF >= 3 && $2 != "-" && index(sets, " " $3 " ") { print $1, $2 }' \
    "$(dirname "${BASH_SOURCE[0]}")/programs.txt"
}
