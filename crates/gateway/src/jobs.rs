//! Running work on a model's instance pool from a request handler.
//!
//! A handler hands [`AppState::infer`] a `prepare` closure (decode + preprocess, or checking
//! an OIP tensor). It runs on the model's worker thread, its tensor joins a batch, and the
//! handler gets back its rows of the output together with what `prepare` measured.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use infergate_core::ModelSpec;
use infergate_runtime::{BackendError, BatchJob, BatchOutput, Tensor};
use std::sync::Arc;
use tokio::sync::oneshot;

/// What a job's `prepare` produces besides the tensor, handed back with the output.
type Answer<X> = ApiResult<(BatchOutput, X)>;

/// A request's work as a [`BatchJob`].
struct PreparedJob<F, X> {
    prepare: Option<F>,
    extra: Option<X>,
    reply: Option<oneshot::Sender<Answer<X>>>,
}

impl<F, X> BatchJob for PreparedJob<F, X>
where
    F: FnOnce() -> ApiResult<(Tensor, X)> + Send + 'static,
    X: Send + 'static,
{
    fn prepare(&mut self) -> Option<Tensor> {
        match (self.prepare.take()?)() {
            Ok((tensor, extra)) => {
                self.extra = Some(extra);
                Some(tensor)
            }
            Err(e) => {
                if let Some(reply) = self.reply.take() {
                    let _ = reply.send(Err(e));
                }
                None
            }
        }
    }

    fn is_cancelled(&self) -> bool {
        self.reply.as_ref().is_none_or(|r| r.is_closed())
    }

    fn complete(mut self: Box<Self>, result: Result<BatchOutput, BackendError>) {
        let Some(reply) = self.reply.take() else { return };
        let answer = match (result, self.extra.take()) {
            (Ok(output), Some(extra)) => Ok((output, extra)),
            (Ok(_), None) => Err(ApiError::internal("a job finished without having been prepared")),
            (Err(e), _) => Err(e.into()),
        };
        let _ = reply.send(answer);
    }
}

impl AppState {
    /// Queues `prepare` and the inference of its tensor on `spec`'s instance pool and waits
    /// for the answer. A full queue answers 503 with `Retry-After`; a request waiting for a
    /// cold start longer than `limits.load_timeout_s` answers 503 too.
    pub async fn infer<F, X>(&self, spec: &Arc<ModelSpec>, prepare: F) -> ApiResult<(BatchOutput, X)>
    where
        F: FnOnce() -> ApiResult<(Tensor, X)> + Send + 'static,
        X: Send + 'static,
    {
        let path = self.artifact(spec).await?;
        let pool = self.pool().version(spec, || path);
        let (reply, answer) = oneshot::channel();
        let job = PreparedJob { prepare: Some(prepare), extra: None, reply: Some(reply) };
        let submitted = pool.submit(Box::new(job))?;
        let gone = |_| ApiError::internal("the inference worker stopped without answering");
        let answered = |answer: Answer<X>| {
            if let Ok((out, _)) = &answer {
                self.metrics().ran(spec, out.queued, out.load_ms.is_some());
            }
            answer
        };
        if !submitted.cold {
            return answered(answer.await.map_err(gone)?);
        }
        let limit = self.config().load_timeout();
        match tokio::time::timeout(limit, answer).await {
            Ok(answer) => answered(answer.map_err(gone)?),
            Err(_) => Err(ApiError::unavailable(
                "model_loading",
                format!(
                    "model {} v{} is still loading after {:.0} s (limits.load_timeout_s); retry shortly",
                    spec.name,
                    spec.version,
                    limit.as_secs_f64()
                ),
            )
            .retry_after(1)),
        }
    }
}
