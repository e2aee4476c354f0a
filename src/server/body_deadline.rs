//! A deadline on a request's body: the whole body must have arrived within
//! `server.body_read_timeout_seconds` of the request's head, or the request is answered 408 and
//! its connection closed. hyper's header read timeout stops a client that trickles its headers;
//! without this one, a client that sends its headers and then trickles its body (a byte every
//! few seconds) would hold a connection slot, and a handler, as long as it liked. tower-http's
//! `TimeoutBody` restarts its timer at every frame, so a trickle passes it.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    http::{Request, StatusCode, header::CONNECTION},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// Why a body was cut off.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0} s (server.body_read_timeout_seconds)")]
pub struct BodyTimedOut(u64);

/// A request body that fails with [`BodyTimedOut`] once its deadline has passed.
pub struct DeadlineBody {
    inner: Incoming,
    /// `None` for a request without a body: nothing to wait for.
    guard: Option<Guard>,
}

struct Guard {
    deadline: Instant,
    seconds: u64,
    /// Armed at the first read that has to wait: a body already received costs no timer.
    sleep: Option<Pin<Box<Sleep>>>,
    /// Set when the deadline cut the body off, so the connection's service answers 408
    /// whatever the handler made of the failed read.
    timed_out: Arc<AtomicBool>,
}

/// What [`limit`] hands back: whether the body was cut off, read once the handler answered.
pub struct TimedOut {
    flag: Option<Arc<AtomicBool>>,
    seconds: u64,
}

/// Puts `request`'s body under a deadline of `timeout` from now.
pub fn limit(request: Request<Incoming>, timeout: Duration) -> (Request<DeadlineBody>, TimedOut) {
    let (head, inner) = request.into_parts();
    let seconds = timeout.as_secs();
    let guard = (!inner.is_end_stream()).then(|| Guard {
        deadline: Instant::now() + timeout,
        seconds,
        sleep: None,
        timed_out: Arc::new(AtomicBool::new(false)),
    });
    let timed_out = TimedOut {
        flag: guard.as_ref().map(|g| g.timed_out.clone()),
        seconds,
    };
    (
        Request::from_parts(head, DeadlineBody { inner, guard }),
        timed_out,
    )
}

impl TimedOut {
    /// The handler's response, or a 408 that closes the connection if the body was cut off
    /// (the handler saw a failed read and answered 400, or nothing useful).
    pub fn or_408(self, response: Response) -> Response {
        if self.flag.is_some_and(|flag| flag.load(Ordering::Acquire)) {
            let message = BodyTimedOut(self.seconds).to_string();
            return (
                StatusCode::REQUEST_TIMEOUT,
                [(CONNECTION, "close")],
                message,
            )
                .into_response();
        }
        response
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let Some(guard) = this.guard.as_mut() else {
            return Poll::Pending;
        };
        let deadline = guard.deadline;
        let sleep = guard
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                guard.timed_out.store(true, Ordering::Release);
                Poll::Ready(Some(Err(Box::new(BodyTimedOut(guard.seconds)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
