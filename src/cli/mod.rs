//! The commands of `diming` beyond serving, one module per concern.

pub mod admin;
