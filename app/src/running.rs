//! The network running in the page, as the applications on it (the DHT's, the tokens') see
//! it: the network itself, which run this is, its trace, and where to say what went wrong.

use std::rc::Rc;

use leptos::prelude::*;
use testbed::trace::Trace;
use testbed::Network;

#[derive(Clone, Copy)]
pub struct Running {
    network: StoredValue<Option<Rc<Network>>, LocalStorage>,
    /// Bumped whenever the network is replaced, so work for an old one stops.
    generation: StoredValue<u64>,
    pub trace: RwSignal<Trace>,
    /// A problem the learner should read: shown in a banner until dismissed.
    pub problem: RwSignal<Option<String>>,
}

impl Running {
    pub fn new(trace: RwSignal<Trace>, problem: RwSignal<Option<String>>) -> Running {
        Running {
            network: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            trace,
            problem,
        }
    }

    /// The running network, once started.
    pub fn network(self) -> Option<Rc<Network>> {
        self.network.get_value()
    }

    /// Changes whenever the network is replaced: work for an old one checks it and stops.
    pub fn generation(self) -> u64 {
        self.generation.get_value()
    }

    /// Stops the current network, if any: dropping the last handles stops its peers.
    pub fn stop(self) {
        self.generation.update_value(|g| *g += 1);
        self.network.set_value(None);
    }

    pub fn set_network(self, network: Rc<Network>) {
        self.network.set_value(Some(network));
    }
}
