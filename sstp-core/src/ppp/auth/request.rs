//! The server's question to its credential backend ([`AuthRequest`]) and
//! the answer ([`AuthVerdict`]), plus the local-users check
//! ([`AuthRequest::verify_with`]) and the HLAK each verdict yields
//! (MS-SSTP §3.2.5.2.2).

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::binding::Hlak;
use crate::crypto::chap::{MD5_RESPONSE_LEN, verify_chap_md5_response};
use crate::crypto::mppe::{MasterKey, MppeKeys, Msk, Role};
use crate::crypto::mschapv2::{
    AuthenticatorResponse, CHALLENGE_LEN, Credential, NT_RESPONSE_LEN, NtPasswordHash,
    user_name_without_domain, verify_nt_response,
};
use crate::ppp::AuthMethod;
use crate::wire::auth::MsChapV2Failure;

/// A PAP password as received (RFC 1334 §2.2.1 Password). Zeroized on drop,
/// never printed.
#[derive(Clone)]
pub struct PapPassword(Zeroizing<Vec<u8>>);

impl PapPassword {
    /// Wraps password bytes.
    pub fn new(password: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    /// The password bytes (meant to be UTF-8; not checked).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Debug for PapPassword {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PapPassword(..)")
    }
}

/// The method-specific part of an [`AuthRequest`]: exactly what a backend
/// needs to check the peer (and what a RADIUS Access-Request carries: RFC
/// 2865 User-Password, CHAP-Challenge/CHAP-Password, RFC 2548
/// MS-CHAP-Challenge/MS-CHAP2-Response).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthData {
    /// PAP (RFC 1334 §2.2.1): the password in clear.
    Pap {
        /// The Password field.
        password: PapPassword,
    },
    /// CHAP with MD5 (RFC 1994 §4.1): Response = MD5(Identifier ‖ secret ‖
    /// Challenge).
    ChapMd5 {
        /// Identifier of the Challenge (and Response).
        identifier: u8,
        /// The challenge value the server sent.
        challenge: Vec<u8>,
        /// The peer's Response value.
        response: [u8; MD5_RESPONSE_LEN],
    },
    /// MS-CHAPv2 (RFC 2759 §4), plain or inside EAP-MSCHAPv2. Hash the user
    /// name from [`AuthRequest::challenge_user_name`].
    MsChapV2 {
        /// The CHAP Identifier, or the EAP-MSCHAPv2 MS-CHAPv2-ID (RFC 2548
        /// MS-CHAP2-Response Ident).
        identifier: u8,
        /// The 16-byte challenge the server sent.
        authenticator_challenge: [u8; CHALLENGE_LEN],
        /// The peer's 16 random bytes.
        peer_challenge: [u8; CHALLENGE_LEN],
        /// The peer's NT-Response (RFC 2759 §8.1).
        nt_response: [u8; NT_RESPONSE_LEN],
        /// The Flags octet of the Response value, as received (sent as 0).
        flags: u8,
    },
    /// EAP-TLS (RFC 5216): TLS has verified the chain against the
    /// configured verifier (CA, dates, CRLs) and the peer's possession of
    /// the key; what remains is the backend's: which user the certificate
    /// is, and whether it may connect (revocation lists, policy). The user
    /// name of the request is the EAP Identity, which proves nothing.
    EapTls {
        /// The peer's certificate chain, end entity first, DER.
        certificates: Vec<rustls::pki_types::CertificateDer<'static>>,
    },
    /// EAP relayed to the backend (RFC 3579 §2: the server is a
    /// pass-through authenticator, [`AuthenticatorConfig::eap_relay`](crate::AuthenticatorConfig::eap_relay)):
    /// one EAP Response of the peer, whole (Code to the end of its Length),
    /// for a RADIUS Access-Request's EAP-Message. The first is the
    /// Response/Identity. Answer with [`AuthVerdict::Continue`] (the next
    /// Request, from an Access-Challenge), [`AuthVerdict::Accept`] with the
    /// MSK (from MS-MPPE-Recv-Key ‖ MS-MPPE-Send-Key), a reject, or, to
    /// the Identity only, [`AuthVerdict::Local`].
    Eap {
        /// The EAP Response packet.
        message: Vec<u8>,
        /// Whether this is the Response/Identity, the conversation's first.
        identity: bool,
    },
}

/// What the server needs checked: the method, the user name as the peer
/// sent it, and the method's data. Answer with an [`AuthVerdict`].
#[derive(Debug, Clone)]
pub struct AuthRequest {
    method: AuthMethod,
    user_name: Vec<u8>,
    user_name_lossy: String,
    data: AuthData,
}

impl AuthRequest {
    /// A request built outside a PPP exchange (backend tests, replays).
    /// `None` when `data` is not the kind `method` produces (PAP data for
    /// PAP, CHAP-MD5 data for CHAP-MD5, MS-CHAPv2 data for MS-CHAPv2 and
    /// EAP-MSCHAPv2, EAP-TLS data for EAP-TLS, relayed EAP for any EAP
    /// method).
    pub fn new(method: AuthMethod, user_name: impl Into<Vec<u8>>, data: AuthData) -> Option<Self> {
        let fits = matches!(
            (method, &data),
            (AuthMethod::Pap, AuthData::Pap { .. })
                | (AuthMethod::ChapMd5, AuthData::ChapMd5 { .. })
                | (
                    AuthMethod::MsChapV2 | AuthMethod::EapMsChapV2,
                    AuthData::MsChapV2 { .. }
                )
                | (AuthMethod::EapTls, AuthData::EapTls { .. })
                | (
                    AuthMethod::EapMsChapV2
                        | AuthMethod::EapTls
                        | AuthMethod::EapPeap
                        | AuthMethod::EapRelayed,
                    AuthData::Eap { .. }
                )
        );
        fits.then(|| Self::from_parts(method, user_name.into(), data))
    }

    pub(super) fn from_parts(method: AuthMethod, user_name: Vec<u8>, data: AuthData) -> Self {
        let user_name_lossy = String::from_utf8_lossy(&user_name).into_owned();
        Self {
            method,
            user_name,
            user_name_lossy,
            data,
        }
    }

    /// The method that produced this request.
    pub const fn method(&self) -> AuthMethod {
        self.method
    }

    /// The user name exactly as received (PAP Peer-ID, CHAP Name, the Name
    /// of the EAP-MSCHAPv2 Response), e.g. `DOMAIN\user`.
    pub fn user_name(&self) -> &[u8] {
        &self.user_name
    }

    /// [`user_name`](Self::user_name) as text, invalid UTF-8 replaced.
    pub fn user_name_lossy(&self) -> &str {
        &self.user_name_lossy
    }

    /// The user name MS-CHAPv2 hashes: [`user_name`](Self::user_name)
    /// without any `DOMAIN\` prefix, as Windows does (RFC 2759 §8.2,
    /// [`user_name_without_domain`]).
    pub fn challenge_user_name(&self) -> &[u8] {
        user_name_without_domain(&self.user_name)
    }

    /// The method's data.
    pub const fn data(&self) -> &AuthData {
        &self.data
    }

    /// Checks the request against a locally stored credential (the
    /// local-users backend). All comparisons run in constant time.
    ///
    /// - PAP: the password equals the stored plaintext, or its NT hash
    ///   equals the stored NT hash.
    /// - CHAP-MD5: needs the stored plaintext; with only an NT hash the
    ///   verdict is a reject that says so.
    /// - MS-CHAPv2 (plain or EAP): the NT-Response verifies (RFC 2759 §8.1,
    ///   with [`challenge_user_name`](Self::challenge_user_name)); the
    ///   accept carries the authenticator response and the server-role MPPE
    ///   keys (RFC 3079 §3).
    pub fn verify_with(&self, secret: &Credential) -> AuthVerdict {
        match &self.data {
            AuthData::Pap { password } => {
                let matches = match secret {
                    Credential::Password(stored) => {
                        bool::from(stored.as_bytes().ct_eq(password.as_bytes()))
                    }
                    Credential::NtHash(stored) => {
                        let Ok(text) = core::str::from_utf8(password.as_bytes()) else {
                            return AuthVerdict::reject(
                                "the PAP password is not UTF-8, so it cannot be checked against an NT hash",
                            );
                        };
                        let hash = NtPasswordHash::from_password(text);
                        bool::from(hash.as_bytes().ct_eq(stored.as_bytes()))
                    }
                };
                if matches {
                    AuthVerdict::Accept(Accept::new())
                } else {
                    AuthVerdict::reject("wrong password")
                }
            }
            AuthData::ChapMd5 {
                identifier,
                challenge,
                response,
            } => match secret {
                Credential::Password(stored) => {
                    if verify_chap_md5_response(*identifier, stored.as_bytes(), challenge, response)
                    {
                        AuthVerdict::Accept(Accept::new())
                    } else {
                        AuthVerdict::reject("wrong password")
                    }
                }
                Credential::NtHash(_) => AuthVerdict::reject(
                    "CHAP-MD5 needs the plaintext password, but only an NT hash is stored for this user",
                ),
            },
            AuthData::MsChapV2 {
                authenticator_challenge,
                peer_challenge,
                nt_response,
                ..
            } => {
                let hash = secret.nt_password_hash();
                match verify_nt_response(
                    &hash,
                    authenticator_challenge,
                    peer_challenge,
                    self.challenge_user_name(),
                    nt_response,
                ) {
                    Some(authenticator_response) => {
                        let master = MasterKey::from_password_hash(&hash, nt_response);
                        let keys = MppeKeys::derive(&master, Role::Server);
                        AuthVerdict::Accept(
                            Accept::new()
                                .with_authenticator_response(authenticator_response)
                                .with_keys(KeyMaterial::Mppe(keys)),
                        )
                    }
                    None => AuthVerdict::reject("wrong password"),
                }
            }
            AuthData::EapTls { .. } => AuthVerdict::reject(
                "EAP-TLS is judged by the certificate, not by a stored password",
            ),
            AuthData::Eap { .. } => AuthVerdict::reject(
                "relayed EAP is for the EAP server (RADIUS), not a stored password",
            ),
        }
    }
}

/// Key material an accepting backend hands back, from which the server
/// builds the HLAK (MS-SSTP §3.2.5.2.2).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// MPPE MasterSendKey and MasterReceiveKey (RFC 3079 §3.4). A local
    /// check derives them ([`AuthRequest::verify_with`]); a RADIUS backend
    /// fills them from MS-MPPE-Send-Key and MS-MPPE-Recv-Key (RFC 2548
    /// §2.4.2, §2.4.3, once decrypted) with
    /// `MppeKeys::from_keys(Role::Server, send, recv)`: those are the NAS's
    /// keys, so the role is `Server`. Serves MS-CHAPv2 and EAP-MSCHAPv2,
    /// whose MSK is built from the same two keys.
    Mppe(MppeKeys),
    /// An EAP Master Session Key (RFC 3748 §7.10), e.g. from a backend that
    /// runs the EAP method itself; the HLAK is its first 32 bytes.
    Msk(Msk),
}

/// An accepting verdict. Build it with [`Accept::new`] and the `with_*`
/// methods.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Accept {
    /// The MS-CHAPv2 authenticator response (RFC 2759 §8.7) to send as `S=`.
    /// Required for MS-CHAPv2 and EAP-MSCHAPv2: without it the server cannot
    /// prove itself, so the authenticator fails the phase instead.
    pub authenticator_response: Option<AuthenticatorResponse>,
    /// Keys for the HLAK. Without them a key-deriving method binds with the
    /// zero HLAK, which a peer that derived real keys will not match.
    pub keys: Option<KeyMaterial>,
    /// Text for the peer: the `M=` of the MS-CHAPv2 success message, the
    /// CHAP Success message, the PAP Authenticate-Ack message. Defaults to
    /// "Access granted".
    pub message: Option<String>,
    /// For EAP-TLS: the user the certificate names (the session, its logs
    /// and its address go by it). Without it, the EAP Identity. Other
    /// methods keep the name the peer proved.
    pub user_name: Option<String>,
}

impl Accept {
    /// An accept with nothing attached (enough for PAP and CHAP-MD5).
    pub fn new() -> Self {
        Self::default()
    }

    /// Attaches the MS-CHAPv2 authenticator response.
    #[must_use]
    pub const fn with_authenticator_response(mut self, response: AuthenticatorResponse) -> Self {
        self.authenticator_response = Some(response);
        self
    }

    /// Attaches key material for the HLAK.
    #[must_use]
    pub fn with_keys(mut self, keys: KeyMaterial) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Sets the text sent to the peer.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Names the user (EAP-TLS: from the certificate).
    #[must_use]
    pub fn with_user_name(mut self, name: impl Into<String>) -> Self {
        self.user_name = Some(name.into());
        self
    }
}

/// The backend's answer to an [`AuthRequest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthVerdict {
    /// The peer is who it claims to be.
    Accept(Accept),
    /// Relayed EAP only ([`AuthData::Eap`]): the next EAP Request for the
    /// peer, whole (RFC 3579 §2.6.2: a RADIUS Access-Challenge's
    /// EAP-Message). The server sends it, retransmits it on its Restart
    /// timer, and hands the peer's Response back as the next request.
    Continue(Vec<u8>),
    /// Relayed EAP only, and only as the answer to the Response/Identity:
    /// the server runs its own EAP methods for this peer (a local user, in
    /// a chain of local users and RADIUS); their outcome comes as an
    /// ordinary request.
    Local,
    /// It is not (or may not connect). Build with [`AuthVerdict::reject`].
    #[non_exhaustive]
    Reject {
        /// Why, for the server's events and logs. Not sent to the peer.
        reason: String,
        /// The MS-CHAPv2 error code (RFC 2759 §6 `E=`), 691
        /// (ERROR_AUTHENTICATION_FAILURE) by default.
        error_code: u32,
        /// Text for the peer (PAP Nak message, CHAP Failure message,
        /// MS-CHAPv2 `M=`); "Authentication failed" when `None`, so the
        /// reason does not leak to the peer.
        message: Option<String>,
    },
}

impl AuthVerdict {
    /// A reject with MS-CHAPv2 error 691 (ERROR_AUTHENTICATION_FAILURE).
    pub fn reject(reason: impl Into<String>) -> Self {
        Self::reject_with_code(reason, MsChapV2Failure::ERROR_AUTHENTICATION_FAILURE)
    }

    /// A reject with a given MS-CHAPv2 error code (RFC 2759 §6, e.g. 647
    /// ERROR_ACCT_DISABLED, 649 ERROR_NO_DIALIN_PERMISSION).
    pub fn reject_with_code(reason: impl Into<String>, error_code: u32) -> Self {
        Self::Reject {
            reason: reason.into(),
            error_code,
            message: None,
        }
    }

    /// Sets the text sent to the peer, for either verdict.
    #[must_use]
    pub fn with_message(self, text: impl Into<String>) -> Self {
        match self {
            Self::Accept(accept) => Self::Accept(accept.with_message(text)),
            Self::Continue(_) | Self::Local => self,
            Self::Reject {
                reason, error_code, ..
            } => Self::Reject {
                reason,
                error_code,
                message: Some(text.into()),
            },
        }
    }

    /// Whether this is an accept.
    pub const fn is_accept(&self) -> bool {
        matches!(self, Self::Accept(_))
    }

    /// The verdict on a method that ends in one round: relaying answers
    /// ([`Continue`](Self::Continue), [`Local`](Self::Local)) make no sense
    /// there and become a reject that says so.
    pub(super) fn settle(self, method: AuthMethod) -> Final {
        match self {
            Self::Accept(accept) => Final::Accept(accept),
            Self::Reject {
                reason,
                error_code,
                message,
            } => Final::Reject {
                reason,
                error_code,
                message,
            },
            Self::Continue(_) | Self::Local => Final::Reject {
                reason: format!(
                    "the authentication backend answered {method} as if it were relayed EAP"
                ),
                error_code: MsChapV2Failure::ERROR_AUTHENTICATION_FAILURE,
                message: None,
            },
        }
    }
}

/// A verdict that ends a method: accept or reject.
#[derive(Debug)]
pub(super) enum Final {
    Accept(Accept),
    Reject {
        reason: String,
        error_code: u32,
        message: Option<String>,
    },
}

/// Default peer-visible text of an accept.
pub(super) const DEFAULT_ACCEPT_MESSAGE: &str = "Access granted";
/// Default peer-visible text of a reject.
pub(super) const DEFAULT_REJECT_MESSAGE: &str = "Authentication failed";

/// The server's HLAK for an accepted `method` (MS-SSTP §3.2.5.2.2):
/// MS-CHAPv2 from the MPPE keys, EAP-MSCHAPv2 from the MSK (built from the
/// MPPE keys when that is what the backend gave), 32 zero bytes for PAP and
/// CHAP-MD5. A key-deriving method accepted without keys gets the zero HLAK
/// and a warning: the binding then holds only with a peer that also binds
/// with zeros.
pub(super) fn server_hlak(method: AuthMethod, keys: Option<&KeyMaterial>) -> Hlak {
    if !method.derives_keys() {
        return Hlak::zero();
    }
    match (method, keys) {
        (AuthMethod::MsChapV2, Some(KeyMaterial::Mppe(keys))) => Hlak::from_mschapv2(keys),
        (_, Some(KeyMaterial::Mppe(keys))) => Hlak::from_eap_msk(&msk_from_mppe(keys)),
        (_, Some(KeyMaterial::Msk(msk))) => Hlak::from_eap_msk(msk),
        (_, None) => {
            tracing::warn!(%method, "auth: accepted without key material; binding with the zero HLAK");
            Hlak::zero()
        }
    }
}

/// The EAP-MSCHAPv2 MSK from MPPE keys: the server's MasterReceiveKey ‖
/// MasterSendKey (= the client's send ‖ receive), then 32 zero bytes (see
/// [`Msk`]). [`Hlak::from_mschapv2`] already orders the two keys that way
/// for either role.
pub(super) fn msk_from_mppe(keys: &MppeKeys) -> Msk {
    let ordered = Hlak::from_mschapv2(keys);
    let mut msk = Zeroizing::new([0u8; 64]);
    if let Some(head) = msk.get_mut(..32) {
        head.copy_from_slice(ordered.as_bytes());
    }
    Msk::from_bytes(*msk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::chap::chap_md5_response;
    use crate::crypto::mschapv2::generate_nt_response;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        let v = hex::decode(s).expect("test hex");
        v.try_into().expect("test hex length")
    }

    // RFC 2759 §9.2, and the HLAK (MS-SSTP §3.2.5.2.4) of its RFC 3079
    // §3.5.3 MPPE keys.
    const AUTH_CHALLENGE: &str = "5B5D7C7D7B3F2F3E3C2C602132262628";
    const PEER_CHALLENGE: &str = "21402324255E262A28295F2B3A337C7E";
    const PASSWORD_HASH: &str = "44EBBA8D5312B8D611474411F56989AE";
    const NT_RESPONSE: &str = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
    const CHAINED_HLAK: &str = "D5F0E9521E3EA9589645E86051C822268B7CDC149B993A1BA118CB153F56DCCB";

    fn mschapv2_request(method: AuthMethod, user: &[u8]) -> AuthRequest {
        AuthRequest::new(
            method,
            user,
            AuthData::MsChapV2 {
                identifier: 7,
                authenticator_challenge: h(AUTH_CHALLENGE),
                peer_challenge: h(PEER_CHALLENGE),
                nt_response: h(NT_RESPONSE),
                flags: 0,
            },
        )
        .expect("fits")
    }

    fn accept(verdict: AuthVerdict) -> Accept {
        match verdict {
            AuthVerdict::Accept(a) => a,
            other => panic!("not an accept: {other:?}"),
        }
    }

    fn reject_reason(verdict: &AuthVerdict) -> &str {
        match verdict {
            AuthVerdict::Reject { reason, .. } => reason,
            other => panic!("not a reject: {other:?}"),
        }
    }

    #[test]
    fn mschapv2_rfc2759_vector_accepts_with_s_and_chained_hlak() {
        for credential in [
            Credential::from_password("clientPass"),
            Credential::from_nt_hash(h(PASSWORD_HASH)),
        ] {
            let request = mschapv2_request(AuthMethod::MsChapV2, b"User");
            let a = accept(request.verify_with(&credential));
            assert_eq!(
                a.authenticator_response.expect("S=").to_success_string(),
                "S=407A5589115FD0D6209F510FE9C04566932CDA56"
            );
            let keys = a.keys.expect("keys");
            assert!(matches!(&keys, KeyMaterial::Mppe(k) if k.role() == Role::Server));
            for method in [AuthMethod::MsChapV2, AuthMethod::EapMsChapV2] {
                let hlak = server_hlak(method, Some(&keys));
                assert_eq!(hlak.as_bytes(), &h::<32>(CHAINED_HLAK), "{method}");
            }
        }
    }

    #[test]
    fn mschapv2_hashes_the_name_without_domain() {
        let request = mschapv2_request(AuthMethod::EapMsChapV2, b"CORP\\User");
        assert_eq!(request.challenge_user_name(), b"User");
        assert_eq!(request.user_name(), b"CORP\\User");
        assert!(
            request
                .verify_with(&Credential::from_password("clientPass"))
                .is_accept()
        );
    }

    #[test]
    fn mschapv2_wrong_password_or_user_rejects_691() {
        let request = mschapv2_request(AuthMethod::MsChapV2, b"User");
        let verdict = request.verify_with(&Credential::from_password("clientpass"));
        assert!(matches!(
            &verdict,
            AuthVerdict::Reject {
                error_code: 691,
                message: None,
                ..
            }
        ));
        assert_eq!(reject_reason(&verdict), "wrong password");
        let other_user = mschapv2_request(AuthMethod::MsChapV2, b"user");
        assert!(
            !other_user
                .verify_with(&Credential::from_password("clientPass"))
                .is_accept()
        );
    }

    #[test]
    fn pap_plaintext_and_nt_hash() {
        let request = AuthRequest::new(
            AuthMethod::Pap,
            b"alice".to_vec(),
            AuthData::Pap {
                password: PapPassword::new("clientPass"),
            },
        )
        .expect("fits");
        assert!(
            request
                .verify_with(&Credential::from_password("clientPass"))
                .is_accept()
        );
        assert!(
            request
                .verify_with(&Credential::from_nt_hash(h(PASSWORD_HASH)))
                .is_accept()
        );
        assert!(
            !request
                .verify_with(&Credential::from_password("clientPas"))
                .is_accept()
        );
        assert!(
            !request
                .verify_with(&Credential::from_password("clientPass "))
                .is_accept()
        );
        assert!(
            !request
                .verify_with(&Credential::from_nt_hash([0; 16]))
                .is_accept()
        );
        let a = accept(request.verify_with(&Credential::from_password("clientPass")));
        assert!(a.authenticator_response.is_none() && a.keys.is_none());
    }

    #[test]
    fn pap_non_utf8_password_against_nt_hash_says_why() {
        let request = AuthRequest::new(
            AuthMethod::Pap,
            b"alice".to_vec(),
            AuthData::Pap {
                password: PapPassword::new(vec![0xff, 0xfe]),
            },
        )
        .expect("fits");
        let verdict = request.verify_with(&Credential::from_nt_hash(h(PASSWORD_HASH)));
        assert!(reject_reason(&verdict).contains("not UTF-8"));
    }

    #[test]
    fn chap_md5_needs_plaintext() {
        let challenge = [0x42u8; 16];
        let response = chap_md5_response(9, b"secret", &challenge);
        let request = AuthRequest::new(
            AuthMethod::ChapMd5,
            b"bob".to_vec(),
            AuthData::ChapMd5 {
                identifier: 9,
                challenge: challenge.to_vec(),
                response,
            },
        )
        .expect("fits");
        assert!(
            request
                .verify_with(&Credential::from_password("secret"))
                .is_accept()
        );
        let wrong = request.verify_with(&Credential::from_password("Secret"));
        assert_eq!(reject_reason(&wrong), "wrong password");
        let hash_only = request.verify_with(&Credential::from_nt_hash([1; 16]));
        assert!(reject_reason(&hash_only).contains("needs the plaintext password"));
    }

    #[test]
    fn request_data_must_fit_the_method() {
        let pap = AuthData::Pap {
            password: PapPassword::new("x"),
        };
        assert!(AuthRequest::new(AuthMethod::MsChapV2, b"u".to_vec(), pap.clone()).is_none());
        assert!(AuthRequest::new(AuthMethod::Pap, b"u".to_vec(), pap).is_some());
        let ms = mschapv2_request(AuthMethod::MsChapV2, b"u").data().clone();
        assert!(AuthRequest::new(AuthMethod::ChapMd5, b"u".to_vec(), ms.clone()).is_none());
        assert!(AuthRequest::new(AuthMethod::EapMsChapV2, b"u".to_vec(), ms).is_some());
    }

    #[test]
    fn lossy_user_name() {
        let r = AuthRequest::new(
            AuthMethod::Pap,
            vec![b'a', 0xff, b'b'],
            AuthData::Pap {
                password: PapPassword::new("x"),
            },
        )
        .expect("fits");
        assert_eq!(r.user_name(), &[b'a', 0xff, b'b']);
        assert_eq!(r.user_name_lossy(), "a\u{FFFD}b");
        assert_eq!(r.method(), AuthMethod::Pap);
    }

    #[test]
    fn passwords_never_print() {
        let r = AuthRequest::new(
            AuthMethod::Pap,
            b"u".to_vec(),
            AuthData::Pap {
                password: PapPassword::new("hunter2"),
            },
        )
        .expect("fits");
        let debug = format!("{r:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("PapPassword(..)"));
    }

    #[test]
    fn hlak_rules_by_method() {
        let master = MasterKey::from_password_hash(
            &NtPasswordHash::from_bytes(h(PASSWORD_HASH)),
            &h(NT_RESPONSE),
        );
        let server = KeyMaterial::Mppe(MppeKeys::derive(&master, Role::Server));
        let client = KeyMaterial::Mppe(MppeKeys::derive(&master, Role::Client));
        let msk = KeyMaterial::Msk(Msk::from_mschapv2(&master));
        for keys in [&server, &client, &msk] {
            for method in [AuthMethod::MsChapV2, AuthMethod::EapMsChapV2] {
                assert_eq!(
                    server_hlak(method, Some(keys)).as_bytes(),
                    &h::<32>(CHAINED_HLAK)
                );
            }
            for method in [AuthMethod::Pap, AuthMethod::ChapMd5] {
                assert_eq!(server_hlak(method, Some(keys)).as_bytes(), &[0; 32]);
            }
        }
        assert_eq!(server_hlak(AuthMethod::MsChapV2, None).as_bytes(), &[0; 32]);
        // The MSK built from RADIUS-style keys equals the EAP-MSCHAPv2 MSK.
        let from_radius = MppeKeys::from_keys(
            Role::Server,
            h("8B7CDC149B993A1BA118CB153F56DCCB"),
            h("D5F0E9521E3EA9589645E86051C82226"),
        );
        assert_eq!(
            msk_from_mppe(&from_radius).as_bytes(),
            Msk::from_mschapv2(&master).as_bytes()
        );
    }

    #[test]
    fn verdict_builders() {
        let v = AuthVerdict::reject_with_code("disabled", 647).with_message("Account disabled");
        assert!(matches!(
            &v,
            AuthVerdict::Reject { reason, error_code: 647, message: Some(m) }
                if reason == "disabled" && m == "Account disabled"
        ));
        let a = AuthVerdict::Accept(Accept::new()).with_message("Welcome");
        assert!(
            matches!(&a, AuthVerdict::Accept(Accept { message: Some(m), .. }) if m == "Welcome")
        );
        // A fresh NT-Response made with another peer challenge still verifies.
        let hash = NtPasswordHash::from_password("pw");
        let nt = generate_nt_response(&[1; 16], &[2; 16], b"u", &hash);
        let r = AuthRequest::new(
            AuthMethod::MsChapV2,
            b"u".to_vec(),
            AuthData::MsChapV2 {
                identifier: 0,
                authenticator_challenge: [1; 16],
                peer_challenge: [2; 16],
                nt_response: nt,
                flags: 0,
            },
        )
        .expect("fits");
        assert!(r.verify_with(&Credential::from_password("pw")).is_accept());
    }
}
