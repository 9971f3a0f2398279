//! The cluster's directory in Redis: which nodes are alive and how loaded, and each room's home
//! lease with its fencing epoch. A thin driver: the decisions are [`crate::Placer`]'s and
//! [`crate::Lease`]'s; this only runs their requests, each lease step one atomic Lua script.
//!
//! Keys, under the deployment's prefix: `node:{id}` (a hash that expires unless heartbeats renew
//! it), `room:{name}:placed` (the node a room without a home was placed on, for a few seconds),
//! `room:{name}:home` (the lease: the holder's token, with a time to live) and
//! `room:{name}:epoch` (the last epoch issued for the room).

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use crate::lease::{Acquired, Answer, Epoch, LeaseAction, Token};
use crate::node::{Node, NodeId, NodeLoad, NodeState};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis holds a malformed {0}")]
    Malformed(&'static str),
}

/// Takes the lease if the key is absent, issuing the room's next epoch above ARGV[3] (the highest
/// PostgreSQL has seen written, in case Redis lost its counter), or renews it if it holds our
/// token already. Returns {0, epoch} when won, {1, 0} when still ours, {2, 0} when taken.
const ACQUIRE: &str = r"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, 0}
end
if held then
  return {2, 0}
end
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[2], epoch)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {0, epoch}
";

/// Sets the room's placement to ARGV[1] for ARGV[2] ms unless one is set: the placement set.
const PLACE: &str = r"
local placed = redis.call('GET', KEYS[1])
if placed then
  return placed
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
";

/// Renews the lease's time to live if it still holds our token: 1, else 0.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Deletes the lease if it still holds our token: 1, else 0.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Deletes the lease if it still holds our token (ARGV[1]) and places the room on ARGV[2] for
/// ARGV[3] ms: 1, else 0 (another node holds the room: its placement stays).
const HAND_OVER: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

pub struct Directory {
    redis: ConnectionManager,
    prefix: String,
    place: Script,
    acquire: Script,
    renew: Script,
    release: Script,
    hand_over: Script,
}

impl Directory {
    /// Connects to `url` (`redis://host:port/db`); every key starts with `prefix`. Requests time
    /// out after `timeout`: a lease must hear "no" in time rather than wait.
    pub async fn connect(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, DirectoryError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1);
        Ok(Directory {
            redis: client.get_connection_manager_with_config(config).await?,
            prefix: prefix.to_owned(),
            place: Script::new(PLACE),
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            hand_over: Script::new(HAND_OVER),
        })
    }

    /// Says this node is alive for `ttl`, with its state and load.
    pub async fn heartbeat(&self, node: &Node, ttl: Duration) -> Result<(), DirectoryError> {
        let key = self.node_key(&node.id);
        let state = match node.state {
            NodeState::Serving => "serving",
            NodeState::Draining => "draining",
        };
        let fields = [
            ("url", node.public_url.clone()),
            ("state", state.to_owned()),
            ("participants", node.load.participants.to_string()),
            ("busy", node.load.busy.to_string()),
            ("lag_ms", node.load.lag_ms.to_string()),
            ("bitrate", node.load.bitrate.to_string()),
        ];
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &fields)
            .ignore()
            .pexpire(&key, millis(ttl))
            .ignore()
            .exec_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// This node is leaving (a clean shutdown): gone from the directory at once, not after its
    /// heartbeat expired.
    pub async fn forget(&self, node: &NodeId) -> Result<(), DirectoryError> {
        let _: u8 = self.redis.clone().del(self.node_key(node)).await?;
        Ok(())
    }

    /// The nodes alive now: those whose heartbeats have not expired.
    pub async fn nodes(&self) -> Result<Vec<Node>, DirectoryError> {
        let mut redis = self.redis.clone();
        let pattern = format!("{}node:*", self.prefix);
        let keys: Vec<String> = {
            let mut found = redis.scan_match::<_, String>(&pattern).await?;
            let mut keys = Vec::new();
            while let Some(key) = found.next_item().await {
                keys.push(key);
            }
            keys
        };
        let mut nodes = Vec::with_capacity(keys.len());
        for key in keys {
            let fields: HashMap<String, String> = redis.hgetall(&key).await?;
            // Expired between the scan and the read: gone.
            if fields.is_empty() {
                continue;
            }
            let id = key[self.prefix.len() + "node:".len()..].to_owned();
            nodes.push(node_from(NodeId(id), &fields)?);
        }
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(nodes)
    }

    /// One node, if it is alive.
    pub async fn node(&self, id: &NodeId) -> Result<Option<Node>, DirectoryError> {
        let fields: HashMap<String, String> = self.redis.clone().hgetall(self.node_key(id)).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        node_from(id.clone(), &fields).map(Some)
    }

    /// Who holds the room's home lease now, if anybody.
    pub async fn home(&self, room: &str) -> Result<Option<Token>, DirectoryError> {
        let held: Option<String> = self.redis.clone().get(self.home_key(room)).await?;
        held.map(|value| token_from(&value)).transpose()
    }

    /// Places a room that has no home on `node`, unless another node placed it within `ttl`
    /// already: the node every placer of the room agrees on, so that joins arriving at several
    /// nodes at once all go to the same one, which then takes the lease.
    pub async fn place(
        &self,
        room: &str,
        node: &NodeId,
        ttl: Duration,
    ) -> Result<NodeId, DirectoryError> {
        let placed: String = self
            .place
            .key(self.placed_key(room))
            .arg(&node.0)
            .arg(millis(ttl))
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(NodeId(placed))
    }

    /// Runs one of a room's lease actions. `floor` is the highest epoch PostgreSQL has seen
    /// written for the room (only an Acquire uses it).
    pub async fn lease(
        &self,
        room: &str,
        action: &LeaseAction,
        floor: Epoch,
    ) -> Result<Answer, DirectoryError> {
        let mut redis = self.redis.clone();
        let home = self.home_key(room);
        match action {
            LeaseAction::Acquire { token, ttl } => {
                let epoch = format!("{}room:{room}:epoch", self.prefix);
                let (outcome, issued): (u8, u64) = self
                    .acquire
                    .key(&home)
                    .key(&epoch)
                    .arg(token_value(token))
                    .arg(millis(*ttl))
                    .arg(floor.0)
                    .invoke_async(&mut redis)
                    .await?;
                let acquired = match outcome {
                    0 => Acquired::Won(Epoch(issued)),
                    1 => Acquired::StillOurs,
                    2 => Acquired::Taken,
                    _ => return Err(DirectoryError::Malformed("acquire answer")),
                };
                Ok(Answer::Acquired(acquired))
            }
            LeaseAction::Renew { token, ttl } => {
                let renewed: u8 = self
                    .renew
                    .key(&home)
                    .arg(token_value(token))
                    .arg(millis(*ttl))
                    .invoke_async(&mut redis)
                    .await?;
                Ok(Answer::Renewed(renewed == 1))
            }
            LeaseAction::Release { token } => {
                let _: u8 = self
                    .release
                    .key(&home)
                    .arg(token_value(token))
                    .invoke_async(&mut redis)
                    .await?;
                Ok(Answer::Released)
            }
            LeaseAction::HandOver {
                token,
                to,
                placed_for,
            } => {
                let _: u8 = self
                    .hand_over
                    .key(&home)
                    .key(self.placed_key(room))
                    .arg(token_value(token))
                    .arg(&to.0)
                    .arg(millis(*placed_for))
                    .invoke_async(&mut redis)
                    .await?;
                Ok(Answer::Released)
            }
        }
    }

    /// Keeps `pass` (a secret) for `ttl`, with what it lets its holder do: a member of a room that
    /// moves (a drain) takes its place on the new home with it.
    pub async fn leave_pass(
        &self,
        pass: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), DirectoryError> {
        let key = self.pass_key(pass);
        let () = self
            .redis
            .clone()
            .pset_ex(key, value, millis(ttl).unsigned_abs())
            .await?;
        Ok(())
    }

    /// What `pass` lets its holder do, once: a pass is gone when taken, or when it expired.
    pub async fn take_pass(&self, pass: &str) -> Result<Option<String>, DirectoryError> {
        Ok(self.redis.clone().get_del(self.pass_key(pass)).await?)
    }

    fn node_key(&self, id: &NodeId) -> String {
        format!("{}node:{id}", self.prefix)
    }

    fn home_key(&self, room: &str) -> String {
        format!("{}room:{room}:home", self.prefix)
    }

    fn placed_key(&self, room: &str) -> String {
        format!("{}room:{room}:placed", self.prefix)
    }

    fn pass_key(&self, pass: &str) -> String {
        format!("{}pass:{pass}", self.prefix)
    }
}

/// A token as the lease key holds it: `node/nonce` (node ids have no `/`).
fn token_value(token: &Token) -> String {
    format!("{}/{}", token.node, token.nonce)
}

fn token_from(value: &str) -> Result<Token, DirectoryError> {
    let malformed = || DirectoryError::Malformed("lease token");
    let (node, nonce) = value.rsplit_once('/').ok_or_else(malformed)?;
    Ok(Token {
        node: NodeId(node.to_owned()),
        nonce: nonce.parse().map_err(|_| malformed())?,
    })
}

/// Redis's milliseconds (a signed count), at least one: zero would mean "expire now".
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// A load figure; zero when absent (a node of an older version does not report it).
fn number<T: std::str::FromStr + Default>(
    fields: &HashMap<String, String>,
    name: &'static str,
) -> Result<T, DirectoryError> {
    fields.get(name).map_or(Ok(T::default()), |value| {
        value.parse().map_err(|_| DirectoryError::Malformed(name))
    })
}

fn node_from(id: NodeId, fields: &HashMap<String, String>) -> Result<Node, DirectoryError> {
    let field = |name: &'static str| fields.get(name).ok_or(DirectoryError::Malformed(name));
    let state = match field("state")?.as_str() {
        "serving" => NodeState::Serving,
        "draining" => NodeState::Draining,
        _ => return Err(DirectoryError::Malformed("state")),
    };
    let load = NodeLoad {
        participants: number(fields, "participants")?,
        busy: number(fields, "busy")?,
        lag_ms: number(fields, "lag_ms")?,
        bitrate: number(fields, "bitrate")?,
    };
    Ok(Node {
        id,
        public_url: field("url")?.clone(),
        state,
        load,
    })
}
