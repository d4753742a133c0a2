//! A web page is never started twice with files to hand over: there is no endpoint.

use std::fmt;

use crate::platform::instance::{BindError, NoEndpoint, SendError};

pub type Address = ();

pub fn fmt_address(_address: &Address, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("(none)")
}

pub fn default_address() -> Result<Address, NoEndpoint> {
    Err(NoEndpoint::WebPage)
}

pub fn address_in(_dir: &std::path::Path) -> Address {}

pub fn send(_address: &Address, _request: &[u8]) -> Result<Vec<u8>, SendError> {
    Err(SendError::NoListener)
}

pub struct StartupLock;

pub fn startup_lock(_address: &Address) -> StartupLock {
    StartupLock
}

pub enum Server {}

impl Server {
    pub fn bind(
        _address: &Address,
        _max_request: usize,
        _answer: Box<dyn Fn(Result<&[u8], String>) -> Vec<u8> + Send>,
    ) -> Result<Server, BindError> {
        Err(BindError::Failed(NoEndpoint::WebPage.to_string()))
    }
}
