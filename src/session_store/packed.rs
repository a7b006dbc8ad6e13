//! A session as the memory store holds it: its postcard bytes in one allocation, the form a
//! shared store (Redis) keeps too. A `Session` of owned strings in the table cost a wide slot
//! per entry (hash tables keep up to half their slots empty) and one allocation per field;
//! the bytes cost a 16-byte slot and one allocation of about the session's serialised size.
//!
//! A step reads the whole session ([`Packed::unpack`], as it cloned it before); the store's own
//! checks (whose caller, open or ended, on which screen) read only the head of the bytes
//! ([`Packed::head`]): the first fields of `Session` in their declared order, borrowed, with
//! nothing decoded past them.

use serde::Deserialize;

use super::StoreError;
use crate::session::{Phase, Session};

/// A session's postcard bytes.
pub(super) struct Packed(Box<[u8]>);

/// The first fields of a packed session, as `Session` declares them (`service`, `caller`,
/// `phase`, then `place`, whose first field is `screen`): postcard writes a struct as its
/// fields in order, so a prefix of the fields reads a prefix of the bytes.
#[derive(Deserialize)]
pub(super) struct Head<'a> {
    pub(super) service: &'a str,
    pub(super) caller: &'a str,
    pub(super) phase: Phase,
    pub(super) screen: &'a str,
}

impl Head<'_> {
    pub(super) fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended { .. })
    }
}

impl Packed {
    /// The bytes of `session`.
    pub(super) fn pack(session: &Session) -> Result<Packed, StoreError> {
        postcard::to_allocvec(session)
            .map(|bytes| Packed(bytes.into_boxed_slice()))
            .map_err(|e| StoreError::Unavailable(format!("a session does not serialise: {e}")))
    }

    /// The session back.
    pub(super) fn unpack(&self) -> Result<Session, StoreError> {
        postcard::from_bytes(&self.0)
            .map_err(|e| StoreError::Unavailable(format!("a held session does not read: {e}")))
    }

    /// The head of the session (its service, caller, phase and screen), read in place; `None`
    /// only if the bytes were not a session's, which `pack` never makes.
    pub(super) fn head(&self) -> Option<Head<'_>> {
        postcard::take_from_bytes::<Head<'_>>(&self.0)
            .ok()
            .map(|(head, _)| head)
    }

    /// Whether the session belongs to `caller` (the keyed hash of its MSISDN).
    pub(super) fn is_of(&self, caller: &str) -> bool {
        self.head().is_some_and(|head| head.caller == caller)
    }

    /// The bytes held on the heap.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::NationalCode;
    use crate::session::Answer;
    use crate::turn::Reply;

    fn ended_session() -> Session {
        let mut s = Session::new("tamin", "0123456789abcdef01234567", "main", "fa");
        let code = NationalCode::parse("0012345679").expect("a valid code");
        s.place
            .answers
            .push(("national_code".into(), Answer::NationalCode(code)));
        s.place.history.push("main".into());
        s.place.screen = "covered".into();
        s.phase = Phase::Ended { result: true };
        s.path = "2*0012345679".into();
        s.last = Some(Reply::End(
            "حمایت درمانی دارد\nکد پیگیری: ۱۲۳۴۵۶۷۸۹۰".into(),
        ));
        s
    }

    #[test]
    fn a_packed_session_unpacks_to_the_same_session() {
        let session = ended_session();
        let packed = Packed::pack(&session).expect("packs");
        assert_eq!(packed.unpack().expect("unpacks"), session);
    }

    #[test]
    fn the_head_reads_the_first_fields_of_the_session() {
        // Fails if `Session` reorders its first fields: the head would read other bytes.
        for session in [
            ended_session(),
            Session::new("osms", "c", "start", "kk"),
            Session::new("", "", "", ""),
        ] {
            let packed = Packed::pack(&session).expect("packs");
            let head = packed.head().expect("a head");
            assert_eq!(head.service, session.service);
            assert_eq!(head.caller, session.caller);
            assert_eq!(head.phase, session.phase);
            assert_eq!(head.screen, session.place.screen);
            assert_eq!(head.is_ended(), session.is_ended());
            assert!(packed.is_of(&session.caller));
            assert!(!packed.is_of("someone else"));
        }
    }

    #[test]
    fn bytes_that_are_no_session_are_an_error_not_a_panic() {
        for bytes in [&b""[..], &b"\xff\xff\xff\xff\xff"[..], &[3u8; 4096][..]] {
            let packed = Packed(bytes.into());
            assert!(packed.unpack().is_err(), "{bytes:?}");
            assert!(packed.head().is_none() || !packed.is_of("c"));
        }
    }
}
