;; The arithmetic floor of the risk loadings (issue 17), for `npm run bench:factors`: the seven
;; cross products and the two sums every symbol's joint OLS needs, with WebAssembly SIMD (f64x2,
;; the widest vectors Workers run), on rows already laid out contiguously (as numpy's matrix is).
;; It does no gathering, no solve and no recording, so no engine doing the same work can be
;; faster than this on the same machine and runtime. Assembled by scripts/bench-factors/products-floor.ts.
;;
;; Summation order: lane 0 sums the even observations and lane 1 the odd ones, added at the end,
;; which is the engine's `dotProduct` order, so the products are bit for bit the engine's (an odd
;; last observation is left to the caller, as `dotProduct` adds it to the even sum).
;;
;; Layout (byte addresses in the one memory):
;;   rows   m rows of n deviations d_i = y_i - y_0 (float64), row s at rows + s·stride·8
;;          (stride = n: contiguous, as numpy's matrix; or the panel's calendar length)
;;   x      the seven weight columns interleaved by pairs of observations: for the pair
;;          (2j, 2j+1), column k's two values at x + j·112 + k·16
;;   out    per row: P_0 … P_6, Σd, Σd² (9 float64), row s at out + s·72
(module
  (memory (export "memory") 1)

  (func $row (param $y i32) (param $pairs i32) (param $x i32) (param $out i32)
    (local $d v128) (local $s1 v128) (local $s2 v128)
    (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $p3 v128)
    (local $p4 v128) (local $p5 v128) (local $p6 v128)
    (local $at i32) (local $xi i32) (local $end i32)
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $pairs) (i32.const 4))))
    ;; The products: seven accumulators, one load of d per pair of observations.
    (local.set $at (local.get $y))
    (local.set $xi (local.get $x))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $d (v128.load (local.get $at)))
        (local.set $p0 (f64x2.add (local.get $p0) (f64x2.mul (v128.load offset=0 (local.get $xi)) (local.get $d))))
        (local.set $p1 (f64x2.add (local.get $p1) (f64x2.mul (v128.load offset=16 (local.get $xi)) (local.get $d))))
        (local.set $p2 (f64x2.add (local.get $p2) (f64x2.mul (v128.load offset=32 (local.get $xi)) (local.get $d))))
        (local.set $p3 (f64x2.add (local.get $p3) (f64x2.mul (v128.load offset=48 (local.get $xi)) (local.get $d))))
        (local.set $p4 (f64x2.add (local.get $p4) (f64x2.mul (v128.load offset=64 (local.get $xi)) (local.get $d))))
        (local.set $p5 (f64x2.add (local.get $p5) (f64x2.mul (v128.load offset=80 (local.get $xi)) (local.get $d))))
        (local.set $p6 (f64x2.add (local.get $p6) (f64x2.mul (v128.load offset=96 (local.get $xi)) (local.get $d))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (local.set $xi (i32.add (local.get $xi) (i32.const 112)))
        (br $next)))
    ;; The sums in a second pass over the row (still in L1): one loop holding all nine
    ;; accumulators spills two of them to the stack on every iteration, which is slower.
    (local.set $at (local.get $y))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $d (v128.load (local.get $at)))
        (local.set $s1 (f64x2.add (local.get $s1) (local.get $d)))
        (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (f64.store offset=0 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $p0)) (f64x2.extract_lane 1 (local.get $p0))))
    (f64.store offset=8 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $p1)) (f64x2.extract_lane 1 (local.get $p1))))
    (f64.store offset=16 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $p2)) (f64x2.extract_lane 1 (local.get $p2))))
    (f64.store offset=24 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $p3)) (f64x2.extract_lane 1 (local.get $p3))))
    (f64.store offset=32 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $p4)) (f64x2.extract_lane 1 (local.get $p4))))
    (f64.store offset=40 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $p5)) (f64x2.extract_lane 1 (local.get $p5))))
    (f64.store offset=48 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $p6)) (f64x2.extract_lane 1 (local.get $p6))))
    (f64.store offset=56 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1))))
    (f64.store offset=64 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $s2)) (f64x2.extract_lane 1 (local.get $s2)))))

  ;; Every row: `m` rows of `n` observations (n even) at `rows`, `stride` values apart.
  (func (export "products") (param $rows i32) (param $m i32) (param $n i32) (param $stride i32) (param $x i32)
    (param $out i32)
    (local $s i32) (local $y i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 3)))
    (local.set $y (local.get $rows))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $s) (local.get $m)))
        (call $row (local.get $y) (i32.shr_u (local.get $n) (i32.const 1)) (local.get $x)
          (i32.add (local.get $out) (i32.mul (local.get $s) (i32.const 72))))
        (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $next)))))
