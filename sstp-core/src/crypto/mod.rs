//! MS-CHAPv2, MPPE and crypto-binding math. Placeholder.
