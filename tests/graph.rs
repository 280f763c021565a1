//! `deckhand graph`: the picture of the decoy network, checked by parsing
//! its nodes and edges back out of the mermaid and DOT text and comparing
//! them to the fleet the TOML file describes (read here on its own).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A picture as parsed back: node labels by id (the label's lines) and the
/// edges as (first line of one end, first line of the other, label).
#[derive(Debug, Default)]
struct Picture {
    nodes: BTreeMap<String, Vec<String>>,
    edges: BTreeSet<(String, String, String)>,
}

impl Picture {
    fn names(&self) -> BTreeSet<String> {
        self.nodes.values().map(|l| l[0].clone()).collect()
    }
    fn label(&self, name: &str) -> &[String] {
        self.nodes.values().find(|l| l[0] == name).unwrap()
    }
    fn resolve(&mut self, raw: Vec<(String, String, String)>) {
        for (a, b, l) in raw {
            let end = |id: &str| self.nodes.get(id).unwrap_or_else(|| panic!("{id}"))[0].clone();
            self.edges.insert((end(&a), end(&b), l));
        }
    }
}

/// Undoes mermaid's `#N;` entities.
fn mermaid_text(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('#') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').unwrap() + i;
        out.push(char::from_u32(rest[i + 1..end].parse().unwrap()).unwrap());
        rest = &rest[end + 1..];
    }
    out + rest
}

fn parse_mermaid(text: &str) -> Picture {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("flowchart LR"));
    let mut p = Picture::default();
    let mut raw = Vec::new();
    for line in lines {
        let line = line.strip_prefix("  ").unwrap();
        if line.starts_with("classDef ") || line.starts_with("class ") {
            continue;
        }
        if let Some((from, rest)) = line.split_once(" ---") {
            let (label, to) = rest.rsplit_once(' ').unwrap();
            let label = label
                .strip_prefix("|\"")
                .map(|l| mermaid_text(l.strip_suffix("\"|").unwrap()));
            raw.push((from.into(), to.into(), label.unwrap_or_default()));
            continue;
        }
        let open = line.find('"').unwrap();
        let close = line.rfind('"').unwrap();
        let label = &line[open + 1..close];
        let lines = label.split("<br>").map(mermaid_text).collect();
        let id: String = line[..open]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        p.nodes.insert(id, lines);
    }
    p.resolve(raw);
    p
}

fn parse_dot(text: &str, fleet: &str) -> Picture {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(format!("graph \"{fleet}\" {{").as_str()));
    assert_eq!(lines.next(), Some("  rankdir=LR;"));
    let mut p = Picture::default();
    let mut raw = Vec::new();
    for line in lines {
        if line == "}" {
            continue;
        }
        let line = line.strip_prefix("  ").unwrap().strip_suffix(';').unwrap();
        let label = line
            .find("label=\"")
            .map(|i| {
                let rest = &line[i + 7..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .unwrap_or_default();
        let words: Vec<&str> = line.split(' ').collect();
        if words[1] == "--" {
            raw.push((words[0].into(), words[2].into(), label));
        } else {
            let lines = label.split("\\n").map(str::to_string).collect();
            p.nodes.insert(words[0].into(), lines);
        }
    }
    p.resolve(raw);
    p
}

/// What the picture must show, read from the TOML file itself.
fn expected(path: &Path) -> Picture {
    let doc: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    let fleet = doc["fleet"].as_table().unwrap();
    let catalog = doc["services"].as_table().unwrap();
    let mut p = Picture::default();
    let add = |p: &mut Picture, label: Vec<String>| {
        let id = format!("n{}", p.nodes.len());
        p.nodes.insert(id, label);
    };
    for (name, net) in doc["networks"].as_table().unwrap() {
        let driver = net["driver"].as_str().unwrap();
        let subnet = net.get("subnet").and_then(|s| s.as_str());
        let line = subnet.map_or(driver.to_string(), |s| format!("{driver} {s}"));
        add(&mut p, vec![name.clone(), line]);
    }
    for (decky, d) in doc["deckies"].as_table().unwrap() {
        let mut label = vec![decky.clone()];
        if let Some(h) = d.get("hostname").and_then(|h| h.as_str()) {
            label.push(format!("hostname {h}"));
        }
        if let Some(persona) = d.get("persona").and_then(|h| h.as_str()) {
            label.push(format!("persona {persona}"));
        }
        add(&mut p, label);
        let lans: Vec<(String, String)> = match d.get("networks") {
            Some(n) => n
                .as_table()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            None => vec![(
                fleet["network"].as_str().unwrap().to_string(),
                d.get("ip")
                    .map_or("", |ip| ip.as_str().unwrap())
                    .to_string(),
            )],
        };
        for (lan, ip) in lans {
            p.edges.insert((lan, decky.clone(), ip));
        }
        for publish in d
            .get("publish")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let publish = format!("publish {}", publish.as_str().unwrap());
            p.edges.insert(("host".into(), decky.clone(), publish));
        }
        for s in d["services"].as_array().unwrap() {
            let s = s.as_str().unwrap();
            let name = format!("{decky}-{s}");
            let mut label = vec![name.clone(), format!("service {s}")];
            if let Some(ports) = catalog[s].get("ports").and_then(|p| p.as_array()) {
                let ports: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
                label.push(format!("ports {}", ports.join(", ")));
            }
            add(&mut p, label);
            p.edges.insert((decky.clone(), name, String::new()));
        }
    }
    p
}

/// Both pictures of the fleet in `dir` show exactly the expected nodes
/// (with their labels) and edges.
fn check_both(dir: &Path, fleet: &str, extra: Picture) -> (String, String) {
    let mut want = expected(&dir.join("deckhand.toml"));
    for label in extra.nodes.into_values() {
        want.nodes.insert(format!("x{}", want.nodes.len()), label);
    }
    want.edges.extend(extra.edges);
    let mermaid = common::deckhand_in(dir, &["graph"], &[]);
    assert_eq!(mermaid.code, 0, "{mermaid:?}");
    let dot = common::deckhand_in(dir, &["graph", "--format", "dot"], &[]);
    assert_eq!(dot.code, 0, "{dot:?}");
    for got in [
        parse_mermaid(&mermaid.stdout),
        parse_dot(&dot.stdout, fleet),
    ] {
        assert_eq!(got.names(), want.names(), "{mermaid:?}");
        for name in want.names() {
            assert_eq!(got.label(&name), want.label(&name), "{name}");
        }
        assert_eq!(got.edges, want.edges, "{mermaid:?}\n{dot:?}");
    }
    (mermaid.stdout, dot.stdout)
}

#[test]
fn the_quickstart_fleet_is_drawn_node_for_node_and_edge_for_edge() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::deckhand_in(tmp.path(), &["init", "--example", "quickstart"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let (mermaid, dot) = check_both(tmp.path(), "quickstart", Picture::default());
    // Three deckies, five services, two LANs; four LAN joins, five services.
    let got = parse_mermaid(&mermaid);
    assert_eq!((got.nodes.len(), got.edges.len()), (10, 9));
    insta::assert_snapshot!("quickstart_mermaid", mermaid);
    insta::assert_snapshot!("quickstart_dot", dot);
}

#[test]
fn published_ports_and_singletons_are_drawn() {
    let tmp = tempfile::tempdir().unwrap();
    let toml = r#"
[fleet]
name = "graphpub"
base_image = "busybox:1.36"
network = "gp_lan"
services = ["sniffer"]

[networks.gp_lan]
driver = "bridge"

[services.sniffer]
image = "busybox:1.36"
singleton = true

[services.ssh]
image = "busybox:1.36"
ports = [22]

[deckies.gate-01]
services = ["ssh"]
publish = ["2222:22/tcp", "127.0.0.1:8080:80/udp"]
"#;
    std::fs::write(tmp.path().join("deckhand.toml"), toml).unwrap();
    // The singleton and the host the ports are published on, besides the decky.
    let sniffer = vec!["graphpub-sniffer".into(), "service sniffer".into()];
    let extra = Picture {
        nodes: BTreeMap::from([("a".into(), vec!["host".into()]), ("b".into(), sniffer)]),
        edges: BTreeSet::from([("gp_lan".into(), "graphpub-sniffer".into(), String::new())]),
    };
    check_both(tmp.path(), "graphpub", extra);
}
