//! Dynamic batching: requests queued for one model version are gathered into one run.
//!
//! A worker thread takes the oldest queued job, prepares it (decoding and preprocessing
//! happen here, off the async threads), then gathers more jobs for the same batch: those
//! already waiting, and — only while no other worker of the model is idle — those arriving
//! within [`BatchPolicy::max_delay`]. Waiting while another worker sits idle would add
//! latency and gain nothing, since that worker could run the next job at once. Each job gets
//! back exactly its own rows of the batch output.

use crate::backend::{check_shape, Backend, BackendError, Tensor};
use crossbeam_channel::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

/// How jobs are gathered into batches and how many may wait.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPolicy {
    /// Most rows (images) run at once; 1 turns batching off.
    pub max_batch: usize,
    /// Longest the first job of a batch waits for company.
    pub max_delay: Duration,
    /// Jobs that may wait per model version; beyond that, submissions are refused.
    pub queue_capacity: usize,
}

impl Default for BatchPolicy {
    /// Batching off (on CPU a batch runs no faster per image than single runs on parallel
    /// sessions; see the README's batching benchmark), 2 ms delay when it is turned on, 256
    /// waiting jobs.
    fn default() -> Self {
        BatchPolicy { max_batch: 1, max_delay: Duration::from_millis(2), queue_capacity: 256 }
    }
}

/// What a job gets back: its rows of the output and where the time went.
#[derive(Debug, Clone)]
pub struct BatchOutput {
    /// This job's rows of the model output.
    pub output: Tensor,
    /// Rows in the batch it ran in (1 when it ran alone).
    pub batch_size: usize,
    /// Time from submission until a worker took it, plus any wait for a session.
    pub queued: Duration,
    /// Time the batch spent inside the inference library.
    pub compute: Duration,
    /// `Some(load_ms)` when no instance was loaded at submission, so this job waited for a
    /// cold start that took `load_ms`.
    pub load_ms: Option<f64>,
}

/// One request's work, run on a worker thread.
pub trait BatchJob: Send + 'static {
    /// Produces this job's input rows (batch dimension first). On failure the job answers its
    /// caller itself and returns `None`.
    fn prepare(&mut self) -> Option<Tensor>;
    /// Whether the caller has gone away; such jobs are dropped without running.
    fn is_cancelled(&self) -> bool {
        false
    }
    /// Delivers this job's result.
    fn complete(self: Box<Self>, result: Result<BatchOutput, BackendError>);
}

/// A submitted job as it waits in the queue.
pub(crate) struct Queued {
    pub job: Box<dyn BatchJob>,
    pub enqueued: Instant,
    /// No instance was loaded when it was submitted.
    pub cold: bool,
}

/// A prepared job, ready to join a batch.
struct Ready {
    job: Box<dyn BatchJob>,
    input: Tensor,
    queued: Duration,
    cold: bool,
}

impl Ready {
    fn rows(&self) -> usize {
        self.input.shape.first().copied().unwrap_or(1)
    }
    fn row_shape(&self) -> &[usize] {
        self.input.shape.get(1..).unwrap_or(&[])
    }
}

/// Gathers and runs batches on one loaded backend.
pub(crate) struct Batcher<'a> {
    pub backend: &'a dyn Backend,
    pub policy: &'a BatchPolicy,
    /// How long the backend took to load (reported to jobs that waited for it).
    pub load_ms: f64,
}

impl Batcher<'_> {
    /// Runs `first` and the jobs that join it (see the module doc), then any job that did
    /// not fit in that batch. `others_idle` says whether another worker is free right now;
    /// `on_batch` hears the size and compute time of every batch run.
    pub fn serve(
        &self,
        first: Queued,
        queue: &Receiver<Queued>,
        others_idle: &dyn Fn() -> bool,
        on_batch: &mut dyn FnMut(usize, Duration),
    ) {
        let max_batch = self.effective_max_batch();
        let mut carry = self.take(first);
        while let Some(head) = carry.take() {
            let mut rows = head.rows();
            let mut batch = vec![head];
            let deadline = Instant::now() + self.policy.max_delay;
            while rows < max_batch {
                let next = match queue.try_recv() {
                    Ok(q) => q,
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) if self.policy.max_delay.is_zero() || others_idle() => break,
                    Err(TryRecvError::Empty) => match queue.recv_deadline(deadline) {
                        Ok(q) => q,
                        Err(_) => break,
                    },
                };
                let Some(ready) = self.take(next) else { continue };
                if ready.row_shape() != batch[0].row_shape() || rows + ready.rows() > max_batch {
                    carry = Some(ready);
                    break;
                }
                rows += ready.rows();
                batch.push(ready);
            }
            self.run(batch, rows, on_batch);
        }
    }

    /// A model whose batch dimension is fixed runs one job at a time.
    fn effective_max_batch(&self) -> usize {
        match self.backend.io().input_shape.first() {
            Some(&d) if d < 0 => self.policy.max_batch.max(1),
            _ => 1,
        }
    }

    /// Prepares a queued job; `None` when it was cancelled or failed (and already answered).
    fn take(&self, queued: Queued) -> Option<Ready> {
        let waited = queued.enqueued.elapsed();
        let mut job = queued.job;
        if job.is_cancelled() {
            return None;
        }
        let input = job.prepare()?;
        if let Err(e) = check_shape(&input.shape, input.data.len(), &self.backend.io().input_shape) {
            job.complete(Err(e));
            return None;
        }
        Some(Ready { job, input, queued: waited, cold: queued.cold })
    }

    /// Runs the batch and hands each job its rows.
    fn run(&self, mut batch: Vec<Ready>, rows: usize, on_batch: &mut dyn FnMut(usize, Duration)) {
        let mut shape = vec![rows];
        shape.extend_from_slice(batch[0].row_shape());
        let data = if batch.len() == 1 {
            std::mem::take(&mut batch[0].input.data)
        } else {
            let mut data = Vec::with_capacity(shape.iter().product());
            for r in &batch {
                data.extend_from_slice(&r.input.data);
            }
            data
        };
        let result = self.backend.run(&shape, &data).and_then(|out| {
            let out_rows = out.output.shape.first().copied().unwrap_or(0);
            if out_rows != rows || out.output.data.len() % rows != 0 {
                return Err(BackendError::Run(format!(
                    "the model answered {out_rows} rows (shape {:?}) for a batch of {rows}",
                    out.output.shape
                )));
            }
            Ok(out)
        });
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                for r in batch {
                    r.job.complete(Err(e.clone()));
                }
                return;
            }
        };
        on_batch(rows, out.compute);
        let row_len = out.output.data.len() / rows;
        let mut offset = 0;
        for r in batch {
            let n = r.rows();
            let mut out_shape = out.output.shape.clone();
            out_shape[0] = n;
            let output =
                Tensor { shape: out_shape, data: out.output.data[offset * row_len..(offset + n) * row_len].to_vec() };
            offset += n;
            let result = BatchOutput {
                output,
                batch_size: rows,
                queued: r.queued + out.queued,
                compute: out.compute,
                load_ms: r.cold.then_some(self.load_ms),
            };
            r.job.complete(Ok(result));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendKind, ModelIo, RunOutput};
    use std::sync::mpsc;

    /// Doubles its input; records the batch sizes it ran.
    struct Doubler {
        io: ModelIo,
        runs: parking_lot::Mutex<Vec<usize>>,
    }

    impl Doubler {
        fn new(batch_dim: i64) -> Self {
            let io = ModelIo {
                input_name: "x".into(),
                input_shape: vec![batch_dim, 2],
                output_name: "y".into(),
                output_shape: vec![batch_dim, 2],
            };
            Doubler { io, runs: Default::default() }
        }
    }

    impl Backend for Doubler {
        fn kind(&self) -> BackendKind {
            BackendKind::Tract
        }
        fn io(&self) -> &ModelIo {
            &self.io
        }
        fn run(&self, shape: &[usize], data: &[f32]) -> Result<RunOutput, BackendError> {
            self.runs.lock().push(shape[0]);
            let output = Tensor { shape: shape.to_vec(), data: data.iter().map(|v| v * 2.0).collect() };
            Ok(RunOutput { output, queued: Duration::ZERO, compute: Duration::from_micros(5) })
        }
    }

    struct Job {
        input: Option<Tensor>,
        reply: mpsc::Sender<Result<BatchOutput, BackendError>>,
    }

    impl BatchJob for Job {
        fn prepare(&mut self) -> Option<Tensor> {
            self.input.take()
        }
        fn complete(self: Box<Self>, result: Result<BatchOutput, BackendError>) {
            let _ = self.reply.send(result);
        }
    }

    fn queued(rows: usize, value: f32, reply: &mpsc::Sender<Result<BatchOutput, BackendError>>) -> Queued {
        let input = Tensor { shape: vec![rows, 2], data: vec![value; rows * 2] };
        Queued {
            job: Box::new(Job { input: Some(input), reply: reply.clone() }),
            enqueued: Instant::now(),
            cold: false,
        }
    }

    /// Serves the jobs in order with a worker that never waits for more.
    fn serve_all(backend: &Doubler, max_batch: usize, jobs: Vec<Queued>) {
        let policy = BatchPolicy { max_batch, max_delay: Duration::ZERO, queue_capacity: 16 };
        let (tx, rx) = crossbeam_channel::bounded(16);
        for j in jobs {
            tx.send(j).ok().unwrap();
        }
        let batcher = Batcher { backend, policy: &policy, load_ms: 0.0 };
        while let Ok(q) = rx.try_recv() {
            batcher.serve(q, &rx, &|| false, &mut |_, _| {});
        }
    }

    #[test]
    fn gathers_waiting_jobs_and_splits_the_output() {
        let backend = Doubler::new(-1);
        let (reply, answers) = mpsc::channel();
        let jobs = vec![queued(1, 1.0, &reply), queued(2, 2.0, &reply), queued(1, 3.0, &reply)];
        serve_all(&backend, 8, jobs);
        assert_eq!(*backend.runs.lock(), vec![4]);
        let got: Vec<BatchOutput> = answers.try_iter().map(|r| r.unwrap()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].output, Tensor { shape: vec![1, 2], data: vec![2.0; 2] });
        assert_eq!(got[1].output, Tensor { shape: vec![2, 2], data: vec![4.0; 4] });
        assert_eq!(got[2].output, Tensor { shape: vec![1, 2], data: vec![6.0; 2] });
        assert!(got.iter().all(|o| o.batch_size == 4));
    }

    #[test]
    fn batches_stop_at_max_batch_and_fixed_batch_models_run_alone() {
        let backend = Doubler::new(-1);
        let (reply, answers) = mpsc::channel();
        serve_all(&backend, 2, (0..5).map(|i| queued(1, i as f32, &reply)).collect());
        assert_eq!(*backend.runs.lock(), vec![2, 2, 1]);
        assert_eq!(answers.try_iter().count(), 5);

        let fixed = Doubler::new(1);
        serve_all(&fixed, 8, (0..3).map(|i| queued(1, i as f32, &reply)).collect());
        assert_eq!(*fixed.runs.lock(), vec![1, 1, 1]);
    }

    #[test]
    fn a_bad_shape_fails_only_its_own_job() {
        let backend = Doubler::new(-1);
        let (reply, answers) = mpsc::channel();
        let bad = Queued {
            job: Box::new(Job { input: Some(Tensor { shape: vec![1, 3], data: vec![0.0; 3] }), reply: reply.clone() }),
            enqueued: Instant::now(),
            cold: true,
        };
        serve_all(&backend, 8, vec![queued(1, 1.0, &reply), bad, queued(1, 2.0, &reply)]);
        let got: Vec<_> = answers.try_iter().collect();
        assert_eq!(got.iter().filter(|r| r.is_err()).count(), 1);
        assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 2);
        assert_eq!(*backend.runs.lock(), vec![2]);
    }
}
