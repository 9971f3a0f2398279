//! Long-term credential check (RFC 8489 section 9.2) with REST-API passwords.
//!
//! The first request of a client carries no MESSAGE-INTEGRITY and is answered
//! 401 with REALM and NONCE; the client retries signed. Everything refused here
//! is answered, never silently dropped, so clients can tell "wrong password"
//! from "server gone".

use std::time::Instant;

use stun_codec::rfc5389::attributes::ErrorCode;
use stun_codec::rfc5389::attributes::{MessageIntegrity, Nonce, Realm, Username};
use stun_codec::rfc5389::errors::{BadRequest, StaleNonce, Unauthorized};

use super::allocation::Owner;
use super::stun::{self, StunMessage};
use super::{ClientAddr, Server};
use crate::auth::{rest_password, RestUsername};
use crate::nonce::NonceCheck;

impl Server {
    /// The owner of a correctly signed request, or `None` after answering it.
    pub(super) fn authenticate(
        &mut self,
        from: ClientAddr,
        request: &StunMessage,
        now: Instant,
    ) -> Option<Owner> {
        match self.check_credentials(request, now) {
            Ok(owner) => Some(owner),
            Err(code) => {
                let challenge =
                    [Unauthorized::CODEPOINT, StaleNonce::CODEPOINT].contains(&code.code());
                let mut reply = stun::error_response(request, code);
                if challenge {
                    reply.add_attribute(self.realm.clone());
                    let nonce = Nonce::new(self.nonces.issue(now)).expect("hex nonce is valid");
                    reply.add_attribute(nonce);
                }
                self.send_to_client(from, stun::finish(reply, None));
                None
            }
        }
    }

    fn check_credentials(&self, request: &StunMessage, now: Instant) -> Result<Owner, ErrorCode> {
        let Some(integrity) = request.get_attribute::<MessageIntegrity>() else {
            // The normal first round trip, not a failure worth counting.
            return Err(Unauthorized.into());
        };
        let (Some(username), Some(realm), Some(nonce)) = (
            request.get_attribute::<Username>(),
            request.get_attribute::<Realm>(),
            request.get_attribute::<Nonce>(),
        ) else {
            return Err(BadRequest.into());
        };
        if self.nonces.check(nonce.value(), now) == NonceCheck::Stale {
            return Err(StaleNonce.into());
        }
        let refuse = || {
            self.metrics.auth_failures.inc();
            Err(Unauthorized.into())
        };
        if realm.text() != self.realm.text() {
            return refuse();
        }
        let Some(rest) = RestUsername::parse(username.name()) else {
            return refuse();
        };
        if rest.is_expired(self.unix_now(now)) {
            return refuse();
        }
        let password = rest_password(&self.config.secret, username.name());
        if integrity
            .check_long_term_credential(username, &self.realm, &password)
            .is_err()
        {
            return refuse();
        }
        let user_id = if rest.user_id.is_empty() {
            username.name().to_owned()
        } else {
            rest.user_id.to_owned()
        };
        Ok(Owner {
            username: username.clone(),
            password,
            user_id,
        })
    }
}
