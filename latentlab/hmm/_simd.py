"""Vector instructions for the HMM kernels, written as LLVM IR (numba intrinsics).

numba leaves LLVM's SLP vectoriser off, so a product of a short vector by a
matrix, whose loops are too short for the loop vectoriser to pay, compiles to
scalar code with a horizontal sum per row. :func:`matvec_columns` forms the
product instead as a sum of the matrix's columns, each scaled by one entry
of the vector (a broadcast), in 256-bit registers of four doubles: no
horizontal sums, and the partial sums stay in registers for the whole
product. Measured on a chain of 100,000 backward steps (the recursion's
dependency chain): 4.6 ms against 8.5 ms for the row-by-row dot products at
K = 20, 2.4 against 5.4 ms at K = 12, 8.3 against 14.1 ms at K = 32.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: doubles per vector register (256-bit AVX2)
LANES = 4
#: rows of the product formed per pass: two registers, each with an even and
#: an odd partial sum (half the dependency chain of one)
CHUNK = 2 * LANES

_DOUBLE = ir.DoubleType()
_VECTOR = ir.VectorType(_DOUBLE, LANES)
_FMA = ir.FunctionType(_VECTOR, [_VECTOR] * 3)


def _broadcast(builder, x):
    """A vector with every lane ``x``."""
    lane0 = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
    return builder.shuffle_vector(lane0, ir.Constant(_VECTOR, ir.Undefined), mask)


@intrinsic
def matvec_columns(typingctx, columns, v, out, n):
    """``out[r] = sum_{i < n} columns[i, r] v[i]`` for every ``r`` below the
    row length of ``columns`` (C-contiguous float64, a multiple of
    ``CHUNK`` doubles; ``out`` at least that long). ``columns[i]`` is column
    ``i`` of the matrix being applied, zero-padded. All three arrays must be
    C-contiguous float64 (anything else is a typing error).

    Per chunk of ``CHUNK`` rows: four vector partial sums (two registers,
    even and odd ``i``), ``acc += columns[i, chunk] * broadcast(v[i])`` by
    fused multiply-adds, added at the end."""
    def contiguous(array, ndim):
        return (isinstance(array, types.Array) and array.ndim == ndim and array.layout == "C"
                and array.dtype == types.float64)

    if not (contiguous(columns, 2) and contiguous(v, 1) and contiguous(out, 1) and isinstance(n, types.Integer)):
        return None  # the IR below indexes the data pointers directly
    sig = types.void(columns, v, out, n)

    def codegen(context, builder, signature, args):
        matrix = context.make_array(signature.args[0])(context, builder, args[0])
        vector = context.make_array(signature.args[1])(context, builder, args[1])
        result = context.make_array(signature.args[2])(context, builder, args[2])
        count = args[3]
        intp = context.get_value_type(types.intp)

        def const(value):
            return ir.Constant(intp, value)

        fma = cgutils.get_or_insert_function(builder.module, _FMA, "llvm.fma.v4f64")
        pointer = _VECTOR.as_pointer()
        row_length = builder.extract_value(matrix.shape, 1)
        row_stride = builder.udiv(builder.extract_value(matrix.strides, 0), const(8))
        sums = [cgutils.alloca_once(builder, _VECTOR) for _ in range(4)]  # [even lo, even hi, odd lo, odd hi]

        def accumulate(i, chunk_start, parity):
            x = _broadcast(builder, builder.load(builder.gep(vector.data, [i])))
            row = builder.gep(matrix.data, [builder.add(builder.mul(i, row_stride), chunk_start)])
            for half in range(2):
                m = builder.load(builder.bitcast(builder.gep(row, [const(LANES * half)]), pointer), align=8)
                acc = sums[2 * parity + half]
                builder.store(builder.call(fma, [m, x, builder.load(acc)]), acc)

        with cgutils.for_range(builder, builder.udiv(row_length, const(CHUNK))) as chunk:
            start = builder.mul(chunk.index, const(CHUNK))
            for acc in sums:
                builder.store(ir.Constant(_VECTOR, [0.0] * LANES), acc)
            with cgutils.for_range(builder, builder.udiv(count, const(2))) as pair:
                even = builder.mul(pair.index, const(2))
                accumulate(even, start, 0)
                accumulate(builder.add(even, const(1)), start, 1)
            odd_count = builder.icmp_unsigned("!=", builder.urem(count, const(2)), const(0))
            with builder.if_then(odd_count):
                accumulate(builder.sub(count, const(1)), start, 0)
            for half in range(2):
                total = builder.fadd(builder.load(sums[half]), builder.load(sums[2 + half]))
                target = builder.gep(result.data, [builder.add(start, const(LANES * half))])
                builder.store(total, builder.bitcast(target, pointer), align=8)
        return context.get_dummy_value()

    return sig, codegen
