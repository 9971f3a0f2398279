use super::*;

fn load(args: &[&str]) -> anyhow::Result<Config> {
    Config::try_load_from(std::iter::once("huddle").chain(args.iter().copied()))
}

#[test]
fn defaults_work() {
    let config = load(&[]).unwrap();
    assert_eq!(config.listen, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(config.mesh_limit, 4);
    assert!(config.ice_servers().is_empty());
}

#[test]
fn ice_servers_parse_with_and_without_credentials() {
    let config = load(&[
        "--ice-server",
        "stun:stun.example.org:3478",
        "--ice-server",
        "turn:turn.example.org:3478?transport=tcp|alice|s3cret",
    ])
    .unwrap();
    let servers = config.ice_servers();
    assert_eq!(servers[0].username, None);
    assert_eq!(
        servers[1].urls,
        vec!["turn:turn.example.org:3478?transport=tcp"]
    );
    assert_eq!(servers[1].credential.as_deref(), Some("s3cret"));
    assert!(load(&["--ice-server", "http://x"]).is_err());
    assert!(load(&["--ice-server", "turn:x|onlyuser"]).is_err());
}

#[test]
fn file_fills_what_flags_leave_default() {
    let dir = std::env::temp_dir().join(format!("huddle-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huddle.toml");
    std::fs::write(
        &path,
        "mesh-limit = 6\nlisten = \"127.0.0.1:9000\"\nice-server = [\"stun:a.example:3478\"]\n",
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let config = load(&["--config", path, "--listen", "127.0.0.1:9100"]).unwrap();
    assert_eq!(config.mesh_limit, 6);
    assert_eq!(config.listen, "127.0.0.1:9100".parse().unwrap());
    assert_eq!(config.ice_servers()[0].urls, vec!["stun:a.example:3478"]);

    std::fs::write(dir.join("bad.toml"), "mesh-limt = 6\n").unwrap();
    let bad = load(&["--config", dir.join("bad.toml").to_str().unwrap()]);
    assert!(format!("{:#}", bad.unwrap_err()).contains("unknown setting"));
}

#[test]
fn turn_settings_parse() {
    let config = load(&[
        "--relay-ports",
        "50000-50100",
        "--turn-allow-peer",
        "127.0.0.1/32",
        "--external-ip",
        "203.0.113.7",
    ])
    .unwrap();
    assert_eq!(
        config.relay_ports,
        PortRange {
            first: 50000,
            last: 50100
        }
    );
    assert_eq!(
        config.turn_allow_peer,
        vec!["127.0.0.1/32".parse().unwrap()]
    );
    assert_eq!(
        config.external_ip,
        vec!["203.0.113.7".parse::<IpAddr>().unwrap()]
    );
    assert!(load(&["--relay-ports", "6000-5000"]).is_err());
    assert!(load(&["--turn-allow-peer", "10.0.0.1/33"]).is_err());
}

#[test]
fn mesh_limit_is_bounded() {
    assert!(load(&["--mesh-limit", "1"]).is_err());
}

#[test]
fn sfu_settings_parse_from_flags_and_file() {
    let config = load(&[]).unwrap();
    assert_eq!(config.media_mode, MediaModeSetting::Auto);
    assert_eq!(config.max_participants, 100);
    assert_eq!(config.sfu_listen, "0.0.0.0:7882".parse().unwrap());
    assert!(config.sfu_workers() >= 1);

    let config = load(&[
        "--media-mode",
        "sfu",
        "--sfu-listen",
        "127.0.0.1:9000",
        "--sfu-workers",
        "3",
        "--max-participants",
        "20",
    ])
    .unwrap();
    assert_eq!(config.media_mode, MediaModeSetting::Sfu);
    assert_eq!(config.sfu_listen, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(config.sfu_workers(), 3);
    assert_eq!(config.max_participants, 20);
    assert!(load(&["--media-mode", "star"]).is_err());
    assert!(load(&["--sfu-workers", "0"]).is_err());
    assert!(load(&["--max-participants", "1"]).is_err());

    let dir = std::env::temp_dir().join(format!("huddle-sfu-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huddle.toml");
    std::fs::write(
        &path,
        "media-mode = \"sfu\"\nsfu-workers = 2\nmax-participants = 50\n",
    )
    .unwrap();
    let config = load(&["--config", path.to_str().unwrap()]).unwrap();
    assert_eq!(config.media_mode, MediaModeSetting::Sfu);
    assert_eq!(config.sfu_workers(), 2);
    assert_eq!(config.max_participants, 50);
}

#[test]
fn sfu_settings_have_environment_variables() {
    // Read from the command rather than by setting variables: tests run in parallel.
    let command = Config::command();
    for (id, env) in [
        ("media_mode", "HUDDLE_MEDIA_MODE"),
        ("sfu_threshold", "HUDDLE_SFU_THRESHOLD"),
        ("sfu_hold", "HUDDLE_SFU_HOLD"),
        ("sfu_listen", "HUDDLE_SFU_LISTEN"),
        ("sfu_workers", "HUDDLE_SFU_WORKERS"),
        ("sfu_ice_restart_grace", "HUDDLE_SFU_ICE_RESTART_GRACE"),
        ("max_participants", "HUDDLE_MAX_PARTICIPANTS"),
    ] {
        let arg = command
            .get_arguments()
            .find(|arg| arg.get_id() == id)
            .unwrap();
        assert_eq!(arg.get_env(), Some(std::ffi::OsStr::new(env)), "{id}");
    }
}

#[test]
fn storage_settings_parse() {
    let config = load(&[]).unwrap();
    assert_eq!(config.database(), Location::DataDir("./data".into()));
    let config = load(&["--database-url", "postgres://localhost/huddle"]).unwrap();
    assert_eq!(
        config.database(),
        Location::Url("postgres://localhost/huddle".into())
    );
}

#[test]
fn auto_is_the_default_with_its_switch() {
    let config = load(&[]).unwrap();
    assert_eq!(
        config.media_policy(),
        MediaPolicy::Auto(AutoSwitch {
            threshold: 3,
            hold: Duration::from_secs(30)
        })
    );
    assert!(config.needs_sfu());
    let config = load(&["--sfu-threshold", "5", "--sfu-hold", "2.5"]).unwrap();
    assert_eq!(
        config.media_policy(),
        MediaPolicy::Auto(AutoSwitch {
            threshold: 5,
            hold: Duration::from_millis(2500)
        })
    );
    let mesh = load(&["--media-mode", "mesh"]).unwrap();
    assert_eq!(mesh.media_policy(), MediaPolicy::Mesh);
    assert!(!mesh.needs_sfu());
    assert!(load(&["--sfu-threshold", "1"]).is_err());
}

#[test]
fn lengths_of_time_must_be_positive_seconds() {
    for bad in ["-1", "0", "NaN", "inf", "soon"] {
        assert!(load(&["--keepalive-timeout", bad]).is_err(), "{bad}");
        assert!(load(&["--http-header-timeout", bad]).is_err(), "{bad}");
    }
    let config = load(&["--http-header-timeout", "2.5"]).unwrap();
    assert_eq!(
        config.security.http_header_timeout(),
        Duration::from_millis(2500)
    );
}
