//! The SSTP layer above the wire: the client and server control state
//! machines of MS-SSTP section 3 and their timers.

pub(crate) mod control;
