//! Pure-Rust PPP: the RFC 1661 option-negotiation automaton shared by LCP,
//! IPCP and IPv6CP, and (to come) the link phases and authentication.

pub mod fsm;
