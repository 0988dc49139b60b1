# Script mode: writes OUT, a C file defining `const char NAME[]` (the bytes of
# IN, NUL-terminated) and `const size_t NAME_len`.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR n "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
file(WRITE ${OUT} "/* Generated from ${IN} by cmake/RoamEmbedFile.cmake; do not edit. */\n#include <stddef.h>\nconst char ${NAME}[] = {${hex}0x00};\nconst size_t ${NAME}_len = ${n};\n")
