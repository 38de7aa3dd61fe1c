//! Where ICE looks for a route between two browsers. Host candidates (this machine's own
//! addresses, behind mDNS names in Chromium) always: they connect tabs on one machine and on
//! a LAN. A STUN server tells a browser its address outside a NAT; a TURN server relays the
//! traffic when no direct route exists. None by default: the testbed needs no internet.

/// One STUN or TURN server, as `RTCIceServer` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub url: String,
    /// TURN servers ask for these; STUN servers do not.
    pub username: Option<String>,
    pub credential: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ice {
    pub servers: Vec<Server>,
    /// Only TURN relays' candidates (the browser's `iceTransportPolicy: "relay"`): this
    /// machine's addresses are never offered; without a TURN server there is no route.
    pub relay_only: bool,
}

impl Ice {
    /// From a page's query: `stun=URL[,URL…]`, `turn=URL[,URL…]` with `turn-user` and
    /// `turn-pass`, and `ice=relay` for TURN candidates only.
    pub fn from_query(parameter: impl Fn(&str) -> Option<String>) -> Result<Ice, String> {
        let list = |name: &str, schemes: &[&str]| -> Result<Vec<String>, String> {
            let Some(value) = parameter(name) else {
                return Ok(Vec::new());
            };
            value
                .split(',')
                .map(str::trim)
                .map(|url| {
                    let scheme = url.split(':').next().unwrap_or_default();
                    if schemes.contains(&scheme) && url.len() > scheme.len() + 1 {
                        Ok(url.to_owned())
                    } else {
                        Err(format!(
                            "`{name}={url}` is not a {} URL (e.g. {}:example.org:3478)",
                            name.to_uppercase(),
                            schemes[0]
                        ))
                    }
                })
                .collect()
        };
        let stun = list("stun", &["stun", "stuns"])?;
        let turn = list("turn", &["turn", "turns"])?;
        let (username, credential) = (parameter("turn-user"), parameter("turn-pass"));
        if !turn.is_empty() && (username.is_none() || credential.is_none()) {
            return Err("a TURN server needs `turn-user` and `turn-pass` too".into());
        }
        let relay_only = match parameter("ice").as_deref() {
            None | Some("all") => false,
            Some("relay") => true,
            Some(other) => {
                return Err(format!(
                    "`ice={other}`: `ice=relay` (TURN only) or `ice=all`"
                ))
            }
        };
        let servers = stun
            .into_iter()
            .map(|url| Server {
                url,
                username: None,
                credential: None,
            })
            .chain(turn.into_iter().map(|url| Server {
                url,
                username: username.clone(),
                credential: credential.clone(),
            }))
            .collect();
        Ok(Ice {
            servers,
            relay_only,
        })
    }

    /// What the Room tab says about it.
    pub fn describe(&self) -> String {
        let urls = |prefix: &str| -> Vec<&str> {
            self.servers
                .iter()
                .map(|s| s.url.as_str())
                .filter(|url| url.starts_with(prefix))
                .collect()
        };
        let (stun, turn) = (urls("stun"), urls("turn"));
        let mut said = match (self.relay_only, stun.is_empty() && turn.is_empty()) {
            (true, _) => "TURN relays only (ice=relay)".to_owned(),
            (false, true) => {
                "this machine's own addresses only: tabs on this machine or its LAN".to_owned()
            }
            (false, false) => "this machine's own addresses".to_owned(),
        };
        if !stun.is_empty() {
            said += &format!("; STUN {}", stun.join(", "));
        }
        if !turn.is_empty() {
            said += &format!("; TURN {}", turn.join(", "));
        }
        said
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn no_servers_by_default() {
        let ice = Ice::from_query(query(&[])).unwrap();
        assert_eq!(ice, Ice::default());
        assert!(ice.describe().contains("this machine's own addresses only"));
    }

    #[test]
    fn stun_and_turn_servers_are_read_with_the_turn_credentials() {
        let ice = Ice::from_query(query(&[
            ("stun", "stun:a.example:3478,stun:b.example:3478"),
            ("turn", "turns:t.example:5349"),
            ("turn-user", "ann"),
            ("turn-pass", "secret"),
            ("ice", "relay"),
        ]))
        .unwrap();
        assert_eq!(ice.servers.len(), 3);
        assert_eq!(ice.servers[0].username, None);
        assert_eq!(ice.servers[2].url, "turns:t.example:5349");
        assert_eq!(ice.servers[2].credential.as_deref(), Some("secret"));
        assert!(ice.relay_only);
        assert_eq!(
            ice.describe(),
            "TURN relays only (ice=relay); STUN stun:a.example:3478, stun:b.example:3478; TURN turns:t.example:5349"
        );
    }

    #[test]
    fn a_bad_setting_is_explained() {
        for (pairs, said) in [
            (&[("stun", "http://a.example")][..], "is not a STUN URL"),
            (&[("stun", "stun:")][..], "is not a STUN URL"),
            (&[("turn", "turn:t.example")][..], "needs `turn-user`"),
            (&[("ice", "public")][..], "`ice=public`"),
        ] {
            let error = Ice::from_query(query(pairs)).unwrap_err();
            assert!(error.contains(said), "{error}");
        }
    }
}
