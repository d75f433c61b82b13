//! f32 matrix product for LoRA training (the frozen base weights, attention): C = A·B, each operand
//! either row-major or given as its transpose row-major (a weight W = Bᵀ in x·Wᵀ; Gᵀ in a
//! backward's Gᵀ·X), so no caller copies a transpose.
//!
//! candle's CPU matmul (the gemm crate) reaches 20-37 GFLOP/s on training's shapes (a few hundred
//! rows times 576-1536) on this class of machine and gains nothing from a second thread, where MKL
//! reaches 70-80 GFLOP/s per core. This is the BLIS blocking: both operands packed into panels
//! that stay in cache, an AVX2 6×16 register-tile micro-kernel, and column blocks split over the
//! rayon pool.

use rayon::prelude::*;

/// Micro-tile: rows of A by columns of B held in 12 AVX registers.
const MR: usize = 6;
const NR: usize = 16;
/// Depth of a block: a B panel (KC×NR) stays in L1, an A block (MC×KC) in L2.
const KC: usize = 256;
const MC: usize = 144;
/// Columns packed at once (KC×NC of B, in L3).
const NC: usize = 1024;

/// The left-hand operand.
#[derive(Clone, Copy)]
pub enum Lhs<'a> {
    /// A itself, m×k row-major.
    RowMajor(&'a [f32]),
    /// Aᵀ, k×m row-major.
    Transposed(&'a [f32]),
}

/// The right-hand operand.
#[derive(Clone, Copy)]
pub enum Rhs<'a> {
    /// B itself, k×n row-major.
    RowMajor(&'a [f32]),
    /// Bᵀ, n×k row-major (a weight W in x·Wᵀ).
    Transposed(&'a [f32]),
}

/// C (m×n, row-major) = A (m×k) · B (k×n).
pub fn sgemm(a: Lhs, b: Rhs, m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    sgemm_into(a, b, m, k, n, &mut c);
    c
}

/// `sgemm` into a given C (m×n).
pub fn sgemm_into(a: Lhs, b: Rhs, m: usize, k: usize, n: usize, c: &mut [f32]) {
    let a_len = match a {
        Lhs::RowMajor(s) | Lhs::Transposed(s) => s.len(),
    };
    let b_len = match b {
        Rhs::RowMajor(s) | Rhs::Transposed(s) => s.len(),
    };
    assert!(
        a_len == m * k && b_len == k * n && c.len() == m * n,
        "sgemm: operand sizes"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(0.0);
        return;
    }
    // Column blocks of whole micro-tiles, a few per thread so a slowed thread holds no one up.
    // (Splitting rows instead would pack all of B once per block: the vocabulary projection's B
    // is as large as the product's work per row.)
    let threads = rayon::current_num_threads().max(1);
    let block = n.div_ceil(threads * 2).next_multiple_of(NR).max(NR);
    // A is packed once for all of them (every column block reads all of A).
    let a = pack_a(a, m, k);
    let out = Out(c.as_mut_ptr());
    let starts: Vec<usize> = (0..n).step_by(block).collect();
    starts.into_par_iter().for_each(|j0| {
        columns(&a, b, m, k, n, j0, block.min(n - j0), out);
    });
}

/// C's buffer, written by several threads, each in its own columns.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: the threads write disjoint column ranges of C (see `sgemm`), and C outlives them.
unsafe impl Send for Out {}
// SAFETY: as for Send: no two threads touch the same element, and the pointer itself is never written.
unsafe impl Sync for Out {}

/// Columns j0..j0+cols of C (row stride n).
#[allow(clippy::too_many_arguments)]
fn columns(a: &[f32], b: Rhs, m: usize, k: usize, n: usize, j0: usize, cols: usize, out: Out) {
    // A row-major B is read in place: a panel's rows are 16 contiguous values each, which the
    // micro-kernel loads at B's row stride. Only a partial panel at the right edge is packed
    // (zero-padded). A transposed B is gathered into panels.
    let in_place = match b {
        Rhs::RowMajor(b) => Some(b),
        Rhs::Transposed(_) => None,
    };
    let packed_cols = match in_place {
        Some(_) => NR,
        None => NC.min(cols.next_multiple_of(NR)),
    };
    let kc_max = balanced_depth(k);
    let mut bp = vec![0f32; kc_max * packed_cols];
    for jc in (0..cols).step_by(NC) {
        let nc = NC.min(cols - jc);
        for pc in (0..k).step_by(kc_max) {
            let kc = kc_max.min(k - pc);
            match in_place {
                None => pack_b(b, k, n, pc, kc, j0 + jc, nc, &mut bp),
                Some(_) if !nc.is_multiple_of(NR) => {
                    let edge = nc - nc % NR;
                    pack_b(b, k, n, pc, kc, j0 + jc + edge, nc - edge, &mut bp);
                }
                Some(_) => {}
            }
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                for jr in (0..nc).step_by(NR) {
                    let nr = NR.min(nc - jr);
                    let (b_panel, b_stride) = match in_place {
                        Some(b) if nr == NR => (&b[pc * n + j0 + jc + jr..], n),
                        Some(_) => (&bp[..], NR),
                        None => (&bp[jr * kc..(jr + NR) * kc], NR),
                    };
                    for ir in (0..mc).step_by(MR) {
                        let mr = MR.min(mc - ir);
                        let panel = (ic + ir) / MR;
                        let a_panel = &a[(panel * k + pc) * MR..(panel * k + pc + kc) * MR];
                        let tile = Tile {
                            // SAFETY: row ic+ir < m and column j0+jc+jr < n: inside C, and in this
                            // call's columns only.
                            at: unsafe { out.0.add((ic + ir) * n + j0 + jc + jr) },
                            stride: n,
                            rows: mr,
                            cols: nr,
                            accumulate: pc > 0,
                        };
                        micro_kernel(kc, a_panel, b_panel, b_stride, tile);
                    }
                }
            }
        }
    }
}

/// The depth of each block: as even as possible in steps of at most KC, so no product ends in a
/// short block (k = 576 is 288 + 288, not 256 + 256 + 64) whose pass over C costs as much as a full
/// one's.
fn balanced_depth(k: usize) -> usize {
    k.div_ceil(k.div_ceil(KC))
}

/// Where a micro-tile goes: `rows` × `cols` values of C from `at`, rows `stride` apart, owned by
/// the calling thread. `accumulate` adds to what C holds (the depth blocks after the first).
struct Tile {
    at: *mut f32,
    stride: usize,
    rows: usize,
    cols: usize,
    accumulate: bool,
}

/// A into panels of MR rows over the whole depth, depth-major ([k][MR] each), zero-padded: the
/// block at rows ic.., depth pc..pc+kc of a panel is one contiguous run.
fn pack_a(a: Lhs, m: usize, k: usize) -> Vec<f32> {
    let mut packed = vec![0f32; m.next_multiple_of(MR) * k];
    packed
        .par_chunks_exact_mut(MR * k)
        .enumerate()
        .for_each(|(panel, dst)| {
            let row0 = panel * MR;
            let height = MR.min(m - row0);
            match a {
                // Reading MR rows side by side.
                Lhs::RowMajor(a) => {
                    let rows: [&[f32]; MR] = std::array::from_fn(|r| {
                        if r < height {
                            &a[(row0 + r) * k..(row0 + r + 1) * k]
                        } else {
                            &[]
                        }
                    });
                    gather(&rows, k, dst.as_chunks_mut::<MR>().0);
                }
                // A depth step of a panel is MR adjacent values of a row of Aᵀ.
                Lhs::Transposed(at) => {
                    for (p, dst) in dst.as_chunks_mut::<MR>().0.iter_mut().enumerate() {
                        let src = &at[p * m + row0..p * m + row0 + height];
                        *dst = std::array::from_fn(|r| src.get(r).copied().unwrap_or(0.0));
                    }
                }
            }
        });
    packed
}

/// dst[p][r] = rows[r][p], 0 where a row is empty.
fn gather<const W: usize>(rows: &[&[f32]; W], kc: usize, dst: &mut [[f32; W]]) {
    if rows.iter().all(|r| r.len() == kc) {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            unsafe { avx2::gather(rows, kc, dst) };
            return;
        }
        for (p, out) in dst[..kc].iter_mut().enumerate() {
            *out = std::array::from_fn(|r| rows[r][p]);
        }
    } else {
        for (p, out) in dst[..kc].iter_mut().enumerate() {
            *out = std::array::from_fn(|r| rows[r].get(p).copied().unwrap_or(0.0));
        }
    }
}

/// Depth pc..pc+kc, columns j..j+nc of B into panels of NR columns, depth-major, zero-padded.
#[allow(clippy::too_many_arguments)]
fn pack_b(b: Rhs, k: usize, n: usize, pc: usize, kc: usize, j: usize, nc: usize, bp: &mut [f32]) {
    for (panel, cols) in (0..nc).step_by(NR).enumerate() {
        let dst = &mut bp[panel * NR * kc..(panel + 1) * NR * kc];
        let width = NR.min(nc - cols);
        match b {
            Rhs::RowMajor(b) => {
                for p in 0..kc {
                    let src = &b[(pc + p) * n + j + cols..][..width];
                    dst[p * NR..p * NR + width].copy_from_slice(src);
                    dst[p * NR + width..(p + 1) * NR].fill(0.0);
                }
            }
            Rhs::Transposed(w) => {
                let rows: [&[f32]; NR] = std::array::from_fn(|q| {
                    let row = j + cols + q;
                    if q < width {
                        &w[row * k + pc..row * k + pc + kc]
                    } else {
                        &[]
                    }
                });
                gather(&rows, kc, dst.as_chunks_mut::<NR>().0);
            }
        }
    }
}

/// C tile (+)= A panel · B panel over depth kc; B's row p is b[p·stride..p·stride + NR].
fn micro_kernel(kc: usize, a: &[f32], b: &[f32], stride: usize, tile: Tile) {
    let a = &a.as_chunks::<MR>().0[..kc];
    assert!(
        kc == 0 || b.len() >= (kc - 1) * stride + NR,
        "sgemm: B panel out of bounds"
    );
    assert!(tile.rows <= MR && tile.cols <= NR, "sgemm: tile size");
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        if tile.rows == MR && tile.cols == NR {
            // SAFETY: the CPU has AVX2 and FMA (checked above); B's bounds are checked above; the
            // tile is MR full rows of NR values inside C (the caller's `Tile` contract).
            unsafe { avx2::micro_kernel(a, b, stride, tile.at, tile.stride, tile.accumulate) };
        } else {
            // An edge tile goes through a full-size buffer.
            let mut acc = [0f32; MR * NR];
            // SAFETY: as above; acc is MR rows of NR.
            unsafe { avx2::micro_kernel(a, b, stride, acc.as_mut_ptr(), NR, false) };
            store(&acc, &tile);
        }
        return;
    }
    let mut acc = [0f32; MR * NR];
    for (p, a) in a.iter().enumerate() {
        let b = &b[p * stride..p * stride + NR];
        for r in 0..MR {
            for q in 0..NR {
                acc[r * NR + q] += a[r] * b[q];
            }
        }
    }
    store(&acc, &tile);
}

/// The tile's rows and columns of acc (MR×NR) into C.
fn store(acc: &[f32; MR * NR], tile: &Tile) {
    for (r, src) in acc.chunks_exact(NR).take(tile.rows).enumerate() {
        // SAFETY: row r < tile.rows, tile.cols values: inside the tile (the `Tile` contract).
        let row =
            unsafe { std::slice::from_raw_parts_mut(tile.at.add(r * tile.stride), tile.cols) };
        if tile.accumulate {
            row.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        } else {
            row.copy_from_slice(&src[..tile.cols]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::MR;

    /// `super::gather` for full rows: blocks of 8 rows × 8 depth steps transposed in registers
    /// (eight vector loads per 64 values instead of 64 scalar ones: the gather reads each row of a
    /// weight at a different page).
    #[target_feature(enable = "avx2")]
    pub(super) fn gather<const W: usize>(rows: &[&[f32]; W], kc: usize, dst: &mut [[f32; W]]) {
        let blocked = kc / 8 * 8;
        for r0 in (0..W).step_by(8) {
            let height = 8.min(W - r0);
            for p0 in (0..blocked).step_by(8) {
                let block = transpose(std::array::from_fn(|i| match rows.get(r0 + i) {
                    // SAFETY: the 8 values p0..p0+8 of the row exist (slice index checked).
                    Some(row) if i < height => unsafe { _mm256_loadu_ps(row[p0..p0 + 8].as_ptr()) },
                    _ => _mm256_setzero_ps(),
                }));
                for (out, column) in dst[p0..p0 + 8].iter_mut().zip(block) {
                    let mut lanes = [0f32; 8];
                    // SAFETY: lanes holds 8 values.
                    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), column) };
                    out[r0..r0 + height].copy_from_slice(&lanes[..height]);
                }
            }
        }
        for (p, out) in dst[blocked..kc].iter_mut().enumerate() {
            *out = std::array::from_fn(|r| rows[r][blocked + p]);
        }
    }

    /// The 8×8 transpose: out[j] lane i = rows[i] lane j.
    #[target_feature(enable = "avx2")]
    fn transpose(rows: [__m256; 8]) -> [__m256; 8] {
        let pairs: [__m256; 8] = std::array::from_fn(|i| {
            let (a, b) = (rows[i / 2 * 2], rows[i / 2 * 2 + 1]);
            if i % 2 == 0 {
                _mm256_unpacklo_ps(a, b)
            } else {
                _mm256_unpackhi_ps(a, b)
            }
        });
        // quads[c] holds columns c (low half) and c + 4 (high half) of rows 0-3 (c < 4) or 4-7.
        let quads: [__m256; 8] = std::array::from_fn(|i| {
            let base = i / 4 * 4;
            let (a, b) = (pairs[base + (i % 4) / 2], pairs[base + 2 + (i % 4) / 2]);
            if i % 2 == 0 {
                _mm256_shuffle_ps::<0x44>(a, b)
            } else {
                _mm256_shuffle_ps::<0xEE>(a, b)
            }
        });
        std::array::from_fn(|j| {
            let (low, high) = (quads[j % 4], quads[4 + j % 4]);
            if j < 4 {
                _mm256_permute2f128_ps::<0x20>(low, high)
            } else {
                _mm256_permute2f128_ps::<0x31>(low, high)
            }
        })
    }

    /// 12 accumulators (6 rows × 2 × 8 lanes), two B loads and one broadcast per row and step;
    /// C's rows (`ldc` apart from `c`) are loaded first when accumulating and stored at the end.
    /// The caller checks that b holds (a.len() - 1) · stride + NR values and that c has MR rows
    /// of NR values.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn micro_kernel(
        a: &[[f32; MR]],
        b: &[f32],
        stride: usize,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        if accumulate {
            for (r, row) in acc.iter_mut().enumerate() {
                // SAFETY: row r of the tile holds NR = 16 values (the caller's contract).
                unsafe {
                    let at = c.add(r * ldc);
                    *row = [_mm256_loadu_ps(at), _mm256_loadu_ps(at.add(8))];
                }
            }
        }
        for (p, a) in a.iter().enumerate() {
            // SAFETY: row p's 16 values lie inside b (checked by the caller).
            let (b0, b1) = unsafe {
                let row = b.as_ptr().add(p * stride);
                (_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(8)))
            };
            for (row, &av) in acc.iter_mut().zip(a) {
                let av = _mm256_set1_ps(av);
                row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                row[1] = _mm256_fmadd_ps(av, b1, row[1]);
            }
        }
        for (r, row) in acc.iter().enumerate() {
            // SAFETY: as above.
            unsafe {
                let at = c.add(r * ldc);
                _mm256_storeu_ps(at, row[0]);
                _mm256_storeu_ps(at.add(8), row[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for p in 0..k {
                for j in 0..n {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32
                    / (1 << 24) as f32
                    - 0.5
            })
            .collect()
    }

    #[test]
    fn matches_the_naive_product_on_edges_and_blocks_in_every_layout() {
        // Shapes that leave partial micro-tiles, and ones that cross KC, MC and NC.
        for (m, k, n) in [
            (1, 1, 1),
            (7, 300, 37),
            (6, 16, 16),
            (150, 520, 33),
            (13, 40, 1100),
            (13, 300, 8),
        ] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
            let want = naive(&a, &b, m, k, n);
            for got in [
                sgemm(Lhs::RowMajor(&a), Rhs::RowMajor(&b), m, k, n),
                sgemm(Lhs::RowMajor(&a), Rhs::Transposed(&bt), m, k, n),
                sgemm(Lhs::Transposed(&at), Rhs::RowMajor(&b), m, k, n),
                sgemm(Lhs::Transposed(&at), Rhs::Transposed(&bt), m, k, n),
            ] {
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(g, w)| (g - w).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-4 * (k as f32).sqrt(), "{m}x{k}x{n}: {worst}");
            }
        }
    }
}
