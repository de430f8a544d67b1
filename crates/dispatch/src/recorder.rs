//! Writes invocations to the store in the background, in batches (one transaction each), so
//! forwarding a request never waits for the database. [`InvocationRecorder::flush`] returns
//! once everything recorded before it is stored.

use infergate_store::{Invocation, Store};
use tokio::sync::{mpsc, oneshot};

/// Most rows per transaction.
const BATCH: usize = 512;

enum Message {
    Record(Box<Invocation>),
    Flush(oneshot::Sender<()>),
}

/// The handle to the background writer; cheap to clone.
#[derive(Clone)]
pub struct InvocationRecorder {
    tx: mpsc::UnboundedSender<Message>,
}

impl InvocationRecorder {
    /// Starts the writer over `store`.
    pub fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(store, rx));
        InvocationRecorder { tx }
    }

    /// Queues one invocation.
    pub fn record(&self, invocation: Invocation) {
        if self.tx.send(Message::Record(Box::new(invocation))).is_err() {
            tracing::error!("the invocation writer has stopped; an invocation was not recorded");
        }
    }

    /// Waits until everything queued before this call is stored.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_loop(store: Store, mut rx: mpsc::UnboundedReceiver<Message>) {
    let mut batch: Vec<Invocation> = Vec::with_capacity(BATCH);
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Message::Record(i) => batch.push(*i),
                Message::Flush(w) => waiters.push(w),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        // A failed write is retried a few times (e.g. a locked database), then reported.
        let mut attempt = 0;
        while !batch.is_empty() {
            match store.record_invocations(&batch).await {
                Ok(()) => batch.clear(),
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "recording invocations failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, lost = batch.len(), "cannot record invocations");
                    batch.clear();
                }
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_in_batches_and_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let recorder = InvocationRecorder::start(store.clone());
        for n in 0..1000 {
            recorder.record(Invocation {
                id: uuid::Uuid::now_v7().to_string(),
                function: "f".into(),
                platform: if n % 2 == 0 { "lambda" } else { "ecs" }.into(),
                backend: "http".into(),
                status: 200,
                outcome: "ok".into(),
                latency_ms: 1.0,
                exec_ms: None,
                cold_start: false,
                cost_usd: 0.0,
                fallback: false,
                payload_bytes: 0,
                error: None,
                created_at: infergate_store::now_rfc3339(),
            });
        }
        recorder.flush().await;
        let counts = store.invocation_counts(None).await.unwrap();
        assert_eq!(counts.iter().map(|c| c.total).sum::<u64>(), 1000);
    }
}
