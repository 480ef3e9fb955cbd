// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title BLS12-381 over the EIP-2537 precompiles
/// @notice Hash-to-G2 for the Ethereum POP ciphersuite (`BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`)
/// and the verification pairing. Points use the EIP-2537 encoding: an Fp element is 64 bytes
/// (16 zero bytes then the 48-byte big-endian value), G1 = x || y (128 bytes), an Fp2 element is
/// c0 || c1 and G2 = x || y (256 bytes); the point at infinity is all zeros.
/// @dev Invariants: every function reads and writes only the memory it is given (plus the
/// scratch words 0x00-0x3f); a failing precompile call makes the function return false.
library Bls12381 {
    // EIP-2537 precompile addresses (Prague).
    uint256 internal constant G1ADD = 0x0b;
    uint256 internal constant G1MSM = 0x0c;
    uint256 internal constant G2ADD = 0x0d;
    uint256 internal constant PAIRING = 0x0f;
    uint256 internal constant MAP_FP2_TO_G2 = 0x11;
    uint256 internal constant SHA256 = 0x02;
    uint256 internal constant MODEXP = 0x05;

    // The base field modulus p, as the two words of its 64-byte encoding.
    uint256 internal constant P_HI = 0x000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 internal constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    // -G1 (the negated generator): the pairing equation e(pk, H(m)) = e(g1, sig) is checked as
    // e(pk, H(m)) * e(-g1, sig) = 1.
    uint256 internal constant NEG_G1_X_HI = 0x0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0f;
    uint256 internal constant NEG_G1_X_LO = 0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb;
    uint256 internal constant NEG_G1_Y_HI = 0x00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f2;
    uint256 internal constant NEG_G1_Y_LO = 0x67816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca;

    // DST_prime = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_" || I2OSP(43, 1): 44 bytes.
    uint256 internal constant DST_PRIME_0 = 0x424c535f5349475f424c53313233383147325f584d443a5348412d3235365f53;
    uint256 internal constant DST_PRIME_1 = 0x5357555f524f5f504f505f2b0000000000000000000000000000000000000000;

    /// @notice Writes H(msg) (RFC 9380 hash_to_curve, BLS12381G2_XMD:SHA-256_SSWU_RO_, POP DST) as
    /// a 256-byte G2 point at `out`. Uses 1,280 bytes of scratch memory at `scratch`. Returns false
    /// when a precompile call failed (a chain without EIP-2537).
    /// @dev expand_message_xmd(msg, DST, 256) with the SHA-256 precompile; the four 64-byte chunks
    /// are reduced mod p with MODEXP (base^1 mod p); u0 = (e0, e1), u1 = (e2, e3); the MAP_FP2_TO_G2
    /// precompile maps and clears the cofactor (clear_cofactor is a group homomorphism, so
    /// map(u0) + map(u1) equals clear_cofactor(Q0 + Q1) of the RFC; the crate's tests compare the
    /// result with blst's hash_to_g2).
    function hashToG2(bytes32 message, uint256 out, uint256 scratch) internal view returns (bool ok) {
        assembly ("memory-safe") {
            // scratch layout:
            //   [0, 143)    b_0 input: Z_pad(64) || msg || I2OSP(256, 2) || 0x00 || DST_prime
            //   [256, 512)  uniform bytes b_1 .. b_8
            //   [512, 589)  b_i input: (b_0 xor b_(i-1)) || I2OSP(i, 1) || DST_prime
            //   [640, 849)  MODEXP input: 64 || 1 || 48 || base(64) || 0x01 || p(48)
            //   [0, 512)    reused afterwards: Q0 || Q1 for G2ADD
            //   [512, 768)  reused: field elements u0 || u1 (4 x 64 bytes)
            mstore(scratch, 0)
            mstore(add(scratch, 32), 0)
            mstore(add(scratch, 64), message)
            // I2OSP(256, 2) = 0x0100, then I2OSP(0, 1), then DST_prime (44 bytes).
            mstore(add(scratch, 96), 0x0100000000000000000000000000000000000000000000000000000000000000)
            mstore(add(scratch, 99), DST_PRIME_0)
            mstore(add(scratch, 131), DST_PRIME_1)
            ok := staticcall(gas(), SHA256, scratch, 143, 0x00, 32)
            let b0 := mload(0x00)

            let bi := add(scratch, 512)
            mstore(add(bi, 33), DST_PRIME_0)
            mstore(add(bi, 65), DST_PRIME_1)
            let uniform := add(scratch, 256)
            let prev := 0
            for { let i := 1 } lt(i, 9) { i := add(i, 1) } {
                mstore(bi, xor(b0, prev))
                mstore8(add(bi, 32), i)
                let dst := add(uniform, mul(sub(i, 1), 32))
                ok := and(ok, staticcall(gas(), SHA256, bi, 77, dst, 32))
                prev := mload(dst)
            }

            // Reduce the four 64-byte big-endian chunks mod p into 64-byte Fp encodings.
            let mx := add(scratch, 640)
            mstore(mx, 64)
            mstore(add(mx, 32), 1)
            mstore(add(mx, 64), 48)
            // the exponent byte 0x01 at mx+160, then p's 48 bytes at mx+161 .. mx+209
            mstore(add(mx, 161), shl(128, P_HI))
            mstore8(add(mx, 160), 1)
            mstore(add(mx, 177), P_LO)
            let fe := add(scratch, 1024) // temporary for the four reduced elements
            for { let j := 0 } lt(j, 4) { j := add(j, 1) } {
                let src := add(uniform, mul(j, 64))
                mstore(add(mx, 96), mload(src))
                mstore(add(mx, 128), mload(add(src, 32)))
                let dst := add(fe, mul(j, 64))
                mstore(dst, 0)
                ok := and(ok, staticcall(gas(), MODEXP, mx, 209, add(dst, 16), 48))
            }
            // Map u0 = (e0, e1) and u1 = (e2, e3); Q0 at scratch, Q1 at scratch + 256.
            ok := and(ok, staticcall(gas(), MAP_FP2_TO_G2, fe, 128, scratch, 256))
            ok := and(ok, staticcall(gas(), MAP_FP2_TO_G2, add(fe, 128), 128, add(scratch, 256), 256))
            ok := and(ok, staticcall(gas(), G2ADD, scratch, 512, out, 256))
        }
    }

    /// @notice Whether e(pk, h) * e(-g1, sig) = 1, i.e. sig is a valid signature of the message
    /// hashed to `h` under `pk`. `buf` holds 768 bytes: pk (128) || h (256) || free (128) || sig
    /// (256); the free part is overwritten with -g1. Points are subgroup-checked by the precompile;
    /// an invalid point gives false.
    function pairingCheck(uint256 buf) internal view returns (bool ok) {
        assembly ("memory-safe") {
            mstore(add(buf, 384), NEG_G1_X_HI)
            mstore(add(buf, 416), NEG_G1_X_LO)
            mstore(add(buf, 448), NEG_G1_Y_HI)
            mstore(add(buf, 480), NEG_G1_Y_LO)
            mstore(0x00, 0)
            // Separate statements: Yul evaluates arguments right to left.
            let success := staticcall(gas(), PAIRING, buf, 768, 0x00, 32)
            ok := and(success, eq(mload(0x00), 1))
        }
    }
}
