//! Access token verification (shared::token::verify, RFC 9068) on any token. The first input
//! byte picks the shape: 0 → the rest is the token text; 1 → `header\xffclaims` JSON texts,
//! encoded and signed with the key the verifier trusts (so the claim checks are reached);
//! otherwise → `header\xffclaims\xffsignature`, encoded, the signature unsigned.
#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use shared::token::{AccessTokenVerifier, Jwk, JwkSet, VerificationKeys, VerifyError};

const ISS: &str = "https://auth.example";
const AUD: &str = "https://mcp.example/mcp";
const NOW: i64 = 1_700_000_000;

struct Fixture {
    key: RsaKeyPair,
    kid: String,
    keys: VerificationKeys,
    verifier: AccessTokenVerifier,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let public = PublicKeyComponents::<Vec<u8>>::from(key.public_key());
        let jwk = Jwk::rsa(&public.n, &public.e);
        let kid = jwk.kid.clone();
        let keys = VerificationKeys::from_jwks(&JwkSet { keys: vec![jwk] });
        Fixture {
            key,
            kid,
            keys,
            verifier: AccessTokenVerifier::new(ISS, AUD),
        }
    })
}

fn sign(input: &str) -> String {
    let f = fixture();
    let mut signature = vec![0; f.key.public_modulus_len()];
    f.key
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .expect("RSA signing");
    URL_SAFE_NO_PAD.encode(signature)
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let token = match mode {
        0 => match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
        1 => {
            let mut parts = rest.splitn(2, |b| *b == 0xff);
            let (header, claims) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            // Mostly the trusted header, so that the claims are what varies.
            let header = if header.is_empty() {
                format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#, f.kid).into_bytes()
            } else {
                header.to_vec()
            };
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(claims)
            );
            let signature = sign(&input);
            format!("{input}.{signature}")
        }
        _ => {
            let mut parts = rest.splitn(3, |b| *b == 0xff);
            let [header, claims, signature] = [parts.next(), parts.next(), parts.next()]
                .map(|p| URL_SAFE_NO_PAD.encode(p.unwrap_or_default()));
            format!("{header}.{claims}.{signature}")
        }
    };
    match f.verifier.verify(&token, &f.keys, NOW) {
        Ok(claims) => {
            // Only a token signed by the trusted key, for this issuer and audience, in time.
            assert_eq!(*mode, 1, "accepted an unsigned token: {token:?}");
            assert_eq!(claims.iss, ISS);
            assert_eq!(claims.aud, AUD);
            assert!(NOW < claims.exp.saturating_add(30));
            assert!(claims.iat <= NOW + 30);
            assert!(claims.nbf.is_none_or(|nbf| nbf <= NOW + 30));
        }
        Err(VerifyError::UnknownKey(kid)) => assert!(kid.len() <= token.len()),
        Err(_) => {}
    }
});
