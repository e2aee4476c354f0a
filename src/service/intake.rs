//! Group commit for the inbox's everyday traffic: verified likes, boosts and replies are stored
//! by one writer task in batches, one transaction per batch, and each request is answered once
//! the batch holding it has committed (so a 202 still means "stored").
//!
//! A popular post brings thousands of likes, boosts and replies in minutes. Stored one by one
//! they cost about nine statements and three commits each; in a batch, about a dozen
//! statements and one commit serve up to [`MAX_BATCH`] of them. Whatever a batch cannot decide
//! (a reply whose parent is not stored yet, a failed batch) is answered
//! [`Outcome::Elsewhere`] or [`Outcome::Failed`], and the inbox applies it the ordinary way
//! (`service::conversation`), which is also the reference for what a batch does.

use std::collections::{HashMap, HashSet};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait, TryInsertResult,
};
use url::Url;

use super::{conversation, instance_settings, moderation};
use crate::{
    config::{ReplyPolicy, Settings},
    db::entity::{
        block,
        comment::{self, APPROVED},
        follower, notification, post, reaction, received_activity, remote_actor,
        remote_host::{self, UNREACHABLE},
    },
    db::group_commit::{BatchWriter, Gathering, GroupCommit},
    db::in_list,
    delivery::queue,
    domain::post::Status,
};

/// Most activities stored in one transaction.
pub const MAX_BATCH: usize = 128;

/// A verified activity the writer may store.
pub struct Arrival {
    /// The activity's id.
    pub activity_id: String,
    /// Its type as received (`Like`, `Announce`, `Create`).
    pub kind: &'static str,
    /// The actor, whose signature was verified.
    pub actor: Arc<remote_actor::Model>,
    pub actor_url: Url,
    pub what: What,
}

/// What an arrival asks for.
pub enum What {
    /// A like or a boost (`reaction::LIKE`, `reaction::ANNOUNCE`) of `object_url`, which is
    /// our post `post` (its public id) if it names one.
    Reaction {
        kind: &'static str,
        object_url: String,
        post: Option<String>,
    },
    /// A public reply; `parent_post`: the public id of our post it answers, if its parent is
    /// one (else the parent may be a stored comment).
    Reply {
        draft: Box<conversation::ReplyDraft>,
        parent_post: Option<String>,
    },
}

/// What became of an arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored, or, when it is about nothing Tribune keeps, recorded as received.
    Stored,
    /// Received before (a redelivery): no second effect.
    AlreadySeen,
    /// The actor or its instance is blocked, or not on the allow list.
    Blocked,
    /// Not for a batch (a reply whose parent is not stored): apply it the ordinary way.
    Elsewhere,
    /// The batch failed (logged), nothing of it was written: apply it the ordinary way.
    Failed,
}

/// The handle the inbox submits to (`db::group_commit`).
pub struct Intake {
    writer: GroupCommit<Writer>,
    counts: Arc<Counts>,
}

/// What the writer did so far (this process), for `/metrics`.
#[derive(Default)]
struct Counts {
    batches: AtomicU64,
    activities: AtomicU64,
    failed_batches: AtomicU64,
}

/// [`Intake::counts`]: batches committed or failed, and the activities they held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeCounts {
    pub batches: u64,
    pub activities: u64,
    pub failed_batches: u64,
}

impl Intake {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(db: DatabaseConnection, settings: Settings) -> Intake {
        let counts = Arc::new(Counts::default());
        let writer = Writer {
            db,
            settings,
            counts: Arc::clone(&counts),
        };
        Intake {
            writer: GroupCommit::start(writer, MAX_BATCH, Gathering::Yields),
            counts,
        }
    }

    pub fn counts(&self) -> IntakeCounts {
        IntakeCounts {
            batches: self.counts.batches.load(Ordering::Relaxed),
            activities: self.counts.activities.load(Ordering::Relaxed),
            failed_batches: self.counts.failed_batches.load(Ordering::Relaxed),
        }
    }

    /// Hands an arrival to the writer and waits until its batch has committed.
    pub async fn submit(&self, arrival: Arrival) -> Outcome {
        self.writer.submit(arrival).await.unwrap_or(Outcome::Failed)
    }
}

/// Stores batches of arrivals, one transaction each.
struct Writer {
    db: DatabaseConnection,
    settings: Settings,
    counts: Arc<Counts>,
}

impl BatchWriter for Writer {
    type Job = Arrival;
    type Outcome = Outcome;

    async fn write(&mut self, arrivals: &[Arrival]) -> Vec<Outcome> {
        self.counts.batches.fetch_add(1, Ordering::Relaxed);
        self.counts
            .activities
            .fetch_add(arrivals.len() as u64, Ordering::Relaxed);
        match store(&self.db, &self.settings, arrivals).await {
            Ok(outcomes) => outcomes,
            Err(err) => {
                self.counts.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %err, activities = arrivals.len(),
                    "a batch of received activities failed; they are applied one by one");
                vec![Outcome::Failed; arrivals.len()]
            }
        }
    }
}

/// The rows an insert with `ON CONFLICT DO NOTHING … RETURNING` wrote.
fn inserted<T>(result: TryInsertResult<Vec<T>>) -> Vec<T> {
    match result {
        TryInsertResult::Inserted(rows) => rows,
        TryInsertResult::Empty | TryInsertResult::Conflicted => Vec::new(),
    }
}

/// Stores one batch in one transaction; the outcome of each arrival, in order.
async fn store(
    db: &DatabaseConnection,
    settings: &Settings,
    arrivals: &[Arrival],
) -> Result<Vec<Outcome>, DbErr> {
    let now = Utc::now();
    let mut outcomes = vec![Outcome::Stored; arrivals.len()];
    let mut ids = HashSet::new();
    for (i, a) in arrivals.iter().enumerate() {
        if !ids.insert(a.activity_id.as_str()) {
            outcomes[i] = Outcome::AlreadySeen; // the same activity twice in one batch
        }
    }
    let txn = db.begin().await?;

    // 1. Claim the ids first. The first statement writes, so on SQLite the transaction takes
    //    the write lock before reading anything (a read first could see a state another
    //    writer then changes, and the write would fail). Ids not returned were received before.
    //    In id order: two processes claiming the same ids (a redelivery reaching both) take
    //    the unique index's locks in the same order on PostgreSQL, instead of deadlocking.
    let mut to_claim: Vec<&Arrival> = arrivals
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == Outcome::Stored)
        .map(|(a, _)| a)
        .collect();
    to_claim.sort_by(|a, b| a.activity_id.cmp(&b.activity_id));
    let claims = to_claim.iter().map(|a| received_activity::ActiveModel {
        activity_url: Set(a.activity_id.clone()),
        kind: Set(a.kind.to_string()),
        actor_url: Set(a.actor.actor_url.clone()),
        received_at: Set(now),
    });
    let claimed: HashSet<String> = inserted(
        received_activity::Entity::insert_many(claims)
            .on_conflict_do_nothing_on([received_activity::Column::ActivityUrl])
            .exec_with_returning_keys(&txn)
            .await?,
    )
    .into_iter()
    .collect();
    for (a, outcome) in arrivals.iter().zip(outcomes.iter_mut()) {
        if *outcome == Outcome::Stored && !claimed.contains(&a.activity_id) {
            *outcome = Outcome::AlreadySeen;
        }
    }

    // 2. Blocks and the allow list, as `moderation::refuses` decides them.
    let policy = instance_settings::moderation(&txn, settings).await?;
    let hosts: Vec<String> = arrivals
        .iter()
        .map(|a| moderation::block_host(&a.actor_url))
        .collect();
    let targets: HashSet<&str> = arrivals
        .iter()
        .zip(&hosts)
        .flat_map(|(a, host)| [a.actor.actor_url.as_str(), host.as_str()])
        .collect();
    let rules = block::Entity::find()
        .filter(block::Column::Target.is_in(in_list(targets)))
        .all(&txn)
        .await?;
    for ((a, host), outcome) in arrivals.iter().zip(&hosts).zip(outcomes.iter_mut()) {
        let refused = moderation::decided_by_rules(&rules, &a.actor.actor_url, host)
            .unwrap_or(policy.allowlist_mode);
        if refused {
            *outcome = Outcome::Blocked;
        }
    }

    // 3. A server that talks to us is up: resume what was parked for it.
    let senders: HashSet<String> = arrivals
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o != Outcome::Blocked)
        .map(|(a, _)| queue::host_of(&a.actor_url))
        .collect();
    let down: Vec<String> = remote_host::Entity::find()
        .select_only()
        .column(remote_host::Column::Host)
        .filter(remote_host::Column::Host.is_in(in_list(senders)))
        .filter(remote_host::Column::State.eq(UNREACHABLE))
        .into_tuple()
        .all(&txn)
        .await?;
    for host in down {
        queue::revive_host(&txn, &host, now).await?;
    }

    // 4. What the arrivals name: our published posts, stored comments.
    let to_store = |i: usize| outcomes[i] == Outcome::Stored;
    let post_ids: HashSet<&str> = (0..arrivals.len())
        .filter(|&i| to_store(i))
        .filter_map(|i| match &arrivals[i].what {
            What::Reaction { post, .. } => post.as_deref(),
            What::Reply { parent_post, .. } => parent_post.as_deref(),
        })
        .collect();
    let posts: HashMap<String, i64> = if post_ids.is_empty() {
        HashMap::new()
    } else {
        post::Entity::find()
            .select_only()
            .columns([post::Column::PublicId, post::Column::Id])
            .filter(post::Column::PublicId.is_in(in_list(post_ids)))
            .filter(post::Column::Status.eq(Status::Published.as_str()))
            .into_tuple::<(String, i64)>()
            .all(&txn)
            .await?
            .into_iter()
            .collect()
    };
    let replies: Vec<usize> = (0..arrivals.len())
        .filter(|&i| to_store(i) && matches!(arrivals[i].what, What::Reply { .. }))
        .collect();
    let mut comments: HashMap<String, comment::Model> = HashMap::new();
    let mut trusted_authors: HashSet<i64> = HashSet::new();
    if !replies.is_empty() {
        let named: HashSet<String> = replies
            .iter()
            .filter_map(|&i| match &arrivals[i].what {
                What::Reply { draft, .. } => {
                    Some([draft.object_url.to_string(), draft.in_reply_to.to_string()])
                }
                What::Reaction { .. } => None,
            })
            .flatten()
            .collect();
        comments = comment::Entity::find()
            .filter(comment::Column::ObjectUrl.is_in(in_list(named)))
            .all(&txn)
            .await?
            .into_iter()
            .map(|c| (c.object_url.clone(), c))
            .collect();
        if policy.replies == ReplyPolicy::Trusted {
            trusted_authors = trusted(&txn, replies.iter().map(|&i| &arrivals[i])).await?;
        }
    }

    // 5. The rows.
    let mut new_reactions = Vec::new();
    let mut new_comments = Vec::new();
    for (i, a) in arrivals.iter().enumerate() {
        if outcomes[i] != Outcome::Stored {
            continue;
        }
        match &a.what {
            What::Reaction { kind, post, .. } => {
                // A reaction to anything but our published post is only recorded as received.
                if let Some(&post_id) = post.as_ref().and_then(|p| posts.get(p)) {
                    new_reactions.push(reaction::ActiveModel {
                        kind: Set(kind.to_string()),
                        post_id: Set(post_id),
                        actor_id: Set(a.actor.id),
                        activity_url: Set(a.activity_id.clone()),
                        created_at: Set(now),
                        ..Default::default()
                    });
                }
            }
            What::Reply { draft, parent_post } => {
                if comments.contains_key(draft.object_url.as_str()) {
                    continue; // stored before, under another activity id
                }
                let place = match parent_post.as_ref().and_then(|p| posts.get(p)) {
                    Some(&post_id) => conversation::ThreadPlace::under_post(post_id),
                    None => match comments.get(draft.in_reply_to.as_str()) {
                        Some(parent) => conversation::ThreadPlace::under_comment(parent),
                        // Its parent is unknown here: maybe to fetch, maybe in this very batch.
                        None => {
                            outcomes[i] = Outcome::Elsewhere;
                            continue;
                        }
                    },
                };
                let state = conversation::state_under(
                    policy.replies,
                    trusted_authors.contains(&a.actor.id),
                );
                new_comments.push(draft.row(a.actor.id, place, state));
            }
        }
    }
    let reactions = inserted(
        reaction::Entity::insert_many(new_reactions)
            .on_conflict_do_nothing_on([
                reaction::Column::Kind,
                reaction::Column::PostId,
                reaction::Column::ActorId,
            ])
            .exec_with_returning_many(&txn)
            .await?,
    );
    let stored_comments = inserted(
        comment::Entity::insert_many(new_comments)
            .on_conflict_do_nothing_on([comment::Column::ObjectUrl])
            .exec_with_returning_many(&txn)
            .await?,
    );

    // 6. The members hear of what was new.
    let object_of: HashMap<&str, &str> = arrivals
        .iter()
        .filter_map(|a| match &a.what {
            What::Reaction { object_url, .. } => {
                Some((a.activity_id.as_str(), object_url.as_str()))
            }
            What::Reply { .. } => None,
        })
        .collect();
    let notifications = reactions
        .iter()
        .map(|r| notification::ActiveModel {
            kind: Set(r.kind.clone()),
            actor_id: Set(Some(r.actor_id)),
            post_id: Set(Some(r.post_id)),
            comment_id: Set(None),
            object_url: Set(object_of
                .get(r.activity_url.as_str())
                .map(|o| o.to_string())),
            created_at: Set(now),
            ..Default::default()
        })
        .chain(stored_comments.iter().map(|c| notification::ActiveModel {
            kind: Set(notification::REPLY.to_string()),
            actor_id: Set(Some(c.author_id)),
            post_id: Set(Some(c.post_id)),
            comment_id: Set(Some(c.id)),
            object_url: Set(Some(c.object_url.clone())),
            created_at: Set(now),
            ..Default::default()
        }));
    notification::Entity::insert_many(notifications)
        .exec_without_returning(&txn)
        .await?;

    // 7. What was refused or left to the ordinary path is not "received" yet.
    let unclaimed: Vec<&str> = arrivals
        .iter()
        .zip(&outcomes)
        .filter(|(a, o)| {
            matches!(o, Outcome::Blocked | Outcome::Elsewhere) && claimed.contains(&a.activity_id)
        })
        .map(|(a, _)| a.activity_id.as_str())
        .collect();
    if !unclaimed.is_empty() {
        received_activity::Entity::delete_many()
            .filter(received_activity::Column::ActivityUrl.is_in(in_list(unclaimed)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(outcomes)
}

/// Of these replies' authors, those the `trusted` policy lets through: followers of ours, or
/// authors of a comment approved before.
async fn trusted<'a>(
    txn: &impl sea_orm::ConnectionTrait,
    replies: impl Iterator<Item = &'a Arrival>,
) -> Result<HashSet<i64>, DbErr> {
    let authors: HashMap<&str, i64> = replies
        .map(|a| (a.actor.actor_url.as_str(), a.actor.id))
        .collect();
    let following: Vec<String> = follower::Entity::find()
        .select_only()
        .column(follower::Column::ActorUrl)
        .filter(follower::Column::ActorUrl.is_in(in_list(authors.keys().copied())))
        .filter(follower::Column::State.eq(follower::STATE_ACCEPTED))
        .into_tuple()
        .all(txn)
        .await?;
    let approved: Vec<i64> = comment::Entity::find()
        .select_only()
        .column(comment::Column::AuthorId)
        .filter(comment::Column::AuthorId.is_in(in_list(authors.values().copied())))
        .filter(comment::Column::State.eq(APPROVED))
        .into_tuple()
        .all(txn)
        .await?;
    Ok(following
        .iter()
        .filter_map(|url| authors.get(url.as_str()).copied())
        .chain(approved)
        .collect())
}
