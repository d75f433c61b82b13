//! The local server's request parsing (`kotodama serve`): any body parses into a chat-completions
//! request or a 400 error, never a panic; a request that parses gives a conversation or an error, and
//! its limits.
#![no_main]

use kotodama_server::wire::ChatRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match ChatRequest::parse(data) {
        Ok(request) => {
            let _ = request.conversation();
            let _ = request.limits();
        }
        Err(e) => assert_eq!(e.status.as_u16(), 400),
    }
});
