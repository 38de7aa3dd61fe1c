//! Code the page downloads when it is first used: the kinds of peers beyond the in-page one
//! (the DHT's, with libp2p-kad; a tab's in rooms, with the relay and rendezvous clients and
//! WebRTC), the DHT tab's drawing, what only rooms need (the link that runs the tab's peer,
//! the Room tab's view of a room) and the snapshot lessons' token application. `cargo xtask`
//! builds with the `split` feature: each function here is then a split point, and what only it
//! reaches is cut into a chunk of its own that the first call fetches. Without the feature
//! (`trunk serve`, tests) they are plain functions.

use std::future::Future;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use testbed::dht::peer::DhtPeer;
use testbed::lesson::Action;
use testbed::peer::{Handle, Start};
use testbed::room::peer::RoomPeer;
use testbed::webrtc::ice::Ice;
use testbed::Network;

use crate::components::dht_view::DrawDht;
use crate::components::room_view::DrawRoom;
use crate::relay_link::RelayLink;
use crate::token_app::TokenApp;

/// A chunk of the page could not be downloaded (the server is gone, the network dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLoaded;

impl std::fmt::Display for NotLoaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "this part of the page could not be downloaded: check that the page's server still \
             runs, then try again",
        )
    }
}

#[cfg(feature = "split")]
impl From<wasm_split_helpers::SplitLoaderError> for NotLoaded {
    fn from(_: wasm_split_helpers::SplitLoaderError) -> NotLoaded {
        NotLoaded
    }
}

/// A function from a chunk for a view to draw with: fetched the first time the view wants it,
/// with a line saying it is coming (or why it did not come) until then.
pub struct Fetched<T: 'static> {
    value: RwSignal<Option<Result<T, NotLoaded>>>,
    asked: StoredValue<bool>,
}

impl<T: 'static> Clone for Fetched<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: 'static> Copy for Fetched<T> {}

impl<T: Send + Sync + 'static> Default for Fetched<T> {
    fn default() -> Self {
        Fetched {
            value: RwSignal::new(None),
            asked: StoredValue::new(false),
        }
    }
}

impl<T: Copy + Send + Sync + 'static> Fetched<T> {
    /// Draws with the function once it has come; `code` names what is downloading ("the
    /// rooms'"). Read in a reactive closure, which runs again when the function comes.
    pub fn draw<Loading>(
        self,
        load: impl FnOnce() -> Loading,
        code: &'static str,
        draw: impl FnOnce(T) -> AnyView,
    ) -> AnyView
    where
        Loading: Future<Output = Result<T, NotLoaded>> + 'static,
    {
        match self.value.get() {
            Some(Ok(function)) => draw(function),
            Some(Err(error)) => {
                view! { <p class="problem-text" role="alert">{error.to_string()}</p> }.into_any()
            }
            None => {
                if !self.asked.get_value() {
                    self.asked.set_value(true);
                    let loading = load();
                    let value = self.value;
                    spawn_local(async move { value.set(Some(loading.await)) });
                }
                let line = format!("Downloading {code} code…");
                view! { <p class="hint" role="status">{line}</p> }.into_any()
            }
        }
    }
}

/// `async fn $name() -> Result<$ret, NotLoaded>`, its body in chunk `$chunk` when split.
macro_rules! loaded_when_first_used {
    ($chunk:ident: $(#[$meta:meta])* pub fn $name:ident() -> $ret:ty $body:block) => {
        $(#[$meta])*
        #[cfg(feature = "split")]
        #[wasm_split_helpers::wasm_split($chunk, fallible)]
        pub fn $name() -> Result<$ret, NotLoaded> {
            Ok($body)
        }

        $(#[$meta])*
        #[cfg(not(feature = "split"))]
        pub async fn $name() -> Result<$ret, NotLoaded> {
            Ok($body)
        }
    };
}

loaded_when_first_used! { dht:
    /// Starts the peers of a DHT network.
    pub fn dht_peers() -> Start {
        Handle::start::<DhtPeer>
    }
}

loaded_when_first_used! { dht:
    /// Draws the DHT tab.
    pub fn dht_view() -> DrawDht {
        crate::components::dht_view::dht_state
    }
}

loaded_when_first_used! { rooms:
    /// Starts this tab's peer in rooms and the link that runs it: given where ICE looks for
    /// routes and the relay's info URL.
    pub fn room_link() -> fn(RelayLink, Ice, String) {
        |link, ice, info_url| link.start_peer(Handle::start::<RoomPeer>, ice, info_url)
    }
}

loaded_when_first_used! { rooms:
    /// Draws the room this tab is in (the Room tab once a room is named).
    pub fn room_state() -> DrawRoom {
        crate::components::room_view::room_state
    }
}

/// Runs a token action: opens the application's channels if need be, then moves tokens or
/// takes snapshots.
pub type TokenActions =
    fn(TokenApp, Rc<Network>, Action) -> LocalBoxFuture<'static, Result<(), String>>;

loaded_when_first_used! { snapshots:
    /// The token application of the snapshot lessons.
    pub fn token_actions() -> TokenActions {
        TokenApp::act
    }
}
