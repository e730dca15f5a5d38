// Kept for the includes that name it: the GEMM variant parser lives with the others in
// kernel_variant.h (one parser for every op's variant names).
#pragma once

#include "kernel_variant.h"
