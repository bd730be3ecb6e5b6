//! A Keccak-256 transcript laid out for the EVM.
//!
//! Points travel as 64 bytes `x ‖ y` (big-endian, uncompressed: the EVM
//! verifier never decompresses), scalars as 32 bytes big-endian. The state
//! is a byte buffer: absorbing appends the encoding, squeezing replaces the
//! buffer with `h = keccak256(buffer)` and yields `h mod r`. The generated
//! Solidity verifier implements exactly these three rules.

use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::CurveAffine;
use halo2_proofs::transcript::{
    Challenge255, EncodedChallenge, Transcript, TranscriptRead, TranscriptReadBuffer,
    TranscriptWrite, TranscriptWriterBuffer,
};
use sha3::{Digest, Keccak256};
use std::io::{self, Read, Write};

pub struct EvmTranscript<S> {
    stream: S,
    buf: Vec<u8>,
}

/// Big-endian 32-byte encoding of a field element.
pub fn be_bytes<F: PrimeField<Repr = [u8; 32]>>(f: &F) -> [u8; 32] {
    let mut b = f.to_repr();
    b.reverse();
    b
}

fn fq_from_be(bytes: &[u8]) -> io::Result<Fq> {
    let mut le: [u8; 32] = bytes.try_into().expect("32 bytes");
    le.reverse();
    Option::from(Fq::from_repr(le))
        .ok_or_else(|| invalid("point coordinate is not below the base field modulus"))
}

pub fn fr_from_be(bytes: &[u8]) -> io::Result<Fr> {
    let mut le: [u8; 32] = bytes.try_into().expect("32 bytes");
    le.reverse();
    Option::from(Fr::from_repr(le))
        .ok_or_else(|| invalid("scalar is not below the scalar field modulus"))
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// `x ‖ y` big-endian; the point at infinity is 64 zero bytes.
pub fn point_bytes(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if bool::from(p.is_identity()) {
        return out;
    }
    let c = p.coordinates().unwrap();
    out[..32].copy_from_slice(&be_bytes(c.x()));
    out[32..].copy_from_slice(&be_bytes(c.y()));
    out
}

pub fn point_from_bytes(b: &[u8; 64]) -> io::Result<G1Affine> {
    if b.iter().all(|&v| v == 0) {
        return Ok(G1Affine::identity());
    }
    let (x, y) = (fq_from_be(&b[..32])?, fq_from_be(&b[32..])?);
    Option::from(G1Affine::from_xy(x, y)).ok_or_else(|| invalid("point is not on the curve"))
}

impl<S> EvmTranscript<S> {
    fn absorb(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

impl<S> Transcript<G1Affine, Challenge255<G1Affine>> for EvmTranscript<S> {
    fn squeeze_challenge(&mut self) -> Challenge255<G1Affine> {
        let h: [u8; 32] = Keccak256::digest(&self.buf).into();
        if std::env::var_os("ZKML_EVM_DEBUG_DUMP").is_some() {
            eprintln!(
                "squeeze after {} bytes -> {}",
                self.buf.len(),
                hex::encode(h)
            );
        }
        self.buf = h.to_vec();
        // Challenge255 reduces a 512-bit little-endian integer mod r; with the
        // high half zero that is exactly `h mod r`, as the EVM computes it.
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(&h);
        wide[..32].reverse();
        Challenge255::new(&wide)
    }

    fn common_point(&mut self, p: G1Affine) -> io::Result<()> {
        self.absorb(&point_bytes(&p));
        Ok(())
    }

    fn common_scalar(&mut self, s: Fr) -> io::Result<()> {
        self.absorb(&be_bytes(&s));
        Ok(())
    }
}

impl<R: Read> TranscriptRead<G1Affine, Challenge255<G1Affine>> for EvmTranscript<R> {
    fn read_point(&mut self) -> io::Result<G1Affine> {
        let mut b = [0u8; 64];
        self.stream.read_exact(&mut b)?;
        let p = point_from_bytes(&b)?;
        self.absorb(&b);
        Ok(p)
    }

    fn read_scalar(&mut self) -> io::Result<Fr> {
        let mut b = [0u8; 32];
        self.stream.read_exact(&mut b)?;
        let s = fr_from_be(&b)?;
        self.absorb(&b);
        Ok(s)
    }
}

impl<R: Read> TranscriptReadBuffer<R, G1Affine, Challenge255<G1Affine>> for EvmTranscript<R> {
    fn init(stream: R) -> Self {
        EvmTranscript {
            stream,
            buf: Vec::new(),
        }
    }
}

impl<W: Write> TranscriptWrite<G1Affine, Challenge255<G1Affine>> for EvmTranscript<W> {
    fn write_point(&mut self, p: G1Affine) -> io::Result<()> {
        let b = point_bytes(&p);
        self.absorb(&b);
        self.stream.write_all(&b)
    }

    fn write_scalar(&mut self, s: Fr) -> io::Result<()> {
        let b = be_bytes(&s);
        self.absorb(&b);
        self.stream.write_all(&b)
    }
}

impl<W: Write> TranscriptWriterBuffer<W, G1Affine, Challenge255<G1Affine>> for EvmTranscript<W> {
    fn init(stream: W) -> Self {
        EvmTranscript {
            stream,
            buf: Vec::new(),
        }
    }

    fn finalize(self) -> W {
        self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::group::Curve;

    #[test]
    fn points_round_trip_and_reject_off_curve() {
        let g = (G1Affine::generator() * Fr::from(7u64)).to_affine();
        let b = point_bytes(&g);
        assert_eq!(point_from_bytes(&b).unwrap(), g);
        let mut bad = b;
        bad[63] ^= 1;
        assert!(point_from_bytes(&bad).is_err());
        assert!(bool::from(
            point_from_bytes(&[0u8; 64]).unwrap().is_identity()
        ));
    }

    #[test]
    fn challenge_is_keccak_of_absorbed_bytes_mod_r() {
        let mut t = EvmTranscript::<Vec<u8>> {
            stream: vec![],
            buf: vec![],
        };
        t.common_scalar(Fr::from(5u64)).unwrap();
        let c = t.squeeze_challenge().get_scalar();
        let mut expect = [0u8; 32];
        expect[31] = 5;
        let h: [u8; 32] = Keccak256::digest(expect).into();
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(&h);
        wide[..32].reverse();
        use halo2_proofs::halo2curves::ff::FromUniformBytes;
        assert_eq!(c, Fr::from_uniform_bytes(&wide));
    }
}
