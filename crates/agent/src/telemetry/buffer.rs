//! Telemetry samples kept on disk until the controller acknowledges them.
//!
//! Samples are numbered from a sequence that never goes back, across restarts too (`meta.json`
//! keeps the next number; on opening, the files are scanned in case it lagged behind them). They
//! are appended to segment files (`seg-<first seq>.jsonl`, up to [`SEGMENT_RECORDS`] lines each).
//! The buffer holds at most `capacity` samples: past it the oldest is dropped and counted. A
//! sample leaves only when [`TelemetryBuffer::ack_through`] says the controller stored it;
//! `meta.json` records the lowest sequence number still wanted (`floor`), and a segment is
//! deleted once all of its samples are below it.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use infergate_core::fleet::{TelemetryBatch, TelemetryRecord};
use serde::{Deserialize, Serialize};

/// Samples per segment file.
pub const SEGMENT_RECORDS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Meta {
    next_seq: i64,
    floor: i64,
    dropped: u64,
}

impl Default for Meta {
    fn default() -> Self {
        Meta { next_seq: 1, floor: 1, dropped: 0 }
    }
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    last_seq: i64,
    lines: usize,
}

/// The on-disk telemetry buffer.
#[derive(Debug)]
pub struct TelemetryBuffer {
    dir: PathBuf,
    capacity: usize,
    meta: Meta,
    records: VecDeque<TelemetryRecord>,
    segments: VecDeque<Segment>,
    /// Whether the last segment may be appended to (not after a restart: its last line may be cut).
    appendable: bool,
    /// Lines that could not be read back when opening.
    pub skipped_lines: usize,
}

impl TelemetryBuffer {
    /// Opens (or creates) the buffer in `dir`, holding at most `capacity` samples.
    pub fn open(dir: &Path, capacity: usize) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let meta = match std::fs::read(dir.join("meta.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Meta::default(),
            Err(e) => return Err(e),
        };
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seg-") && n.ends_with(".jsonl"))
            })
            .collect();
        names.sort();
        let mut buffer = TelemetryBuffer {
            dir: dir.to_path_buf(),
            capacity: capacity.max(1),
            meta,
            records: VecDeque::new(),
            segments: VecDeque::new(),
            appendable: false,
            skipped_lines: 0,
        };
        let mut max_seen = 0;
        for path in names {
            let mut last_seq = None;
            for line in BufReader::new(File::open(&path)?).lines() {
                let record = line.ok().and_then(|l| serde_json::from_str::<TelemetryRecord>(&l).ok());
                let Some(record) = record else {
                    buffer.skipped_lines += 1;
                    continue;
                };
                max_seen = max_seen.max(record.seq);
                last_seq = Some(record.seq);
                let newer = buffer.records.back().is_none_or(|b| record.seq > b.seq);
                if record.seq >= buffer.meta.floor && newer {
                    buffer.records.push_back(record);
                }
            }
            match last_seq {
                Some(last_seq) if last_seq >= buffer.meta.floor => {
                    buffer.segments.push_back(Segment { path, last_seq, lines: SEGMENT_RECORDS })
                }
                _ => std::fs::remove_file(&path)?,
            }
        }
        buffer.meta.next_seq = buffer.meta.next_seq.max(max_seen + 1);
        buffer.meta.floor = buffer.meta.floor.min(buffer.meta.next_seq);
        while buffer.records.len() > buffer.capacity {
            buffer.drop_oldest();
        }
        buffer.save_meta()?;
        buffer.remove_old_segments()?;
        Ok(buffer)
    }

    /// Appends a sample taken `at` (RFC 3339); returns its sequence number. When the buffer is
    /// full the oldest sample is dropped (and counted).
    pub fn push(&mut self, at: String, sample: serde_json::Value) -> std::io::Result<i64> {
        let record = TelemetryRecord { seq: self.meta.next_seq, at, sample };
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        let segment = match self.segments.back_mut() {
            Some(s) if self.appendable && s.lines < SEGMENT_RECORDS => s,
            _ => {
                let path = self.dir.join(format!("seg-{:020}.jsonl", record.seq));
                self.segments.push_back(Segment { path, last_seq: record.seq, lines: 0 });
                self.appendable = true;
                self.segments.back_mut().expect("just pushed")
            }
        };
        OpenOptions::new().create(true).append(true).open(&segment.path)?.write_all(&line)?;
        segment.lines += 1;
        segment.last_seq = record.seq;
        self.meta.next_seq += 1;
        self.records.push_back(record);
        while self.records.len() > self.capacity {
            self.drop_oldest();
        }
        self.save_meta()?;
        self.remove_old_segments()?;
        Ok(self.meta.next_seq - 1)
    }

    fn drop_oldest(&mut self) {
        if self.records.pop_front().is_some() {
            self.meta.dropped += 1;
            self.meta.floor = self.records.front().map_or(self.meta.next_seq, |r| r.seq);
        }
    }

    /// The oldest `max` samples as a batch, with the dropped count.
    pub fn batch(&self, max: usize) -> TelemetryBatch {
        TelemetryBatch { samples: self.records.iter().take(max).cloned().collect(), dropped: self.meta.dropped }
    }

    /// The controller stored every sample up to `seq`: they leave the buffer. Returns how many left.
    pub fn ack_through(&mut self, seq: i64) -> std::io::Result<usize> {
        let before = self.records.len();
        while self.records.front().is_some_and(|r| r.seq <= seq) {
            self.records.pop_front();
        }
        self.meta.floor = self.meta.floor.max((seq + 1).min(self.meta.next_seq));
        self.save_meta()?;
        self.remove_old_segments()?;
        Ok(before - self.records.len())
    }

    /// Samples waiting.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Samples dropped so far because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.meta.dropped
    }

    /// The number the next sample gets.
    pub fn next_seq(&self) -> i64 {
        self.meta.next_seq
    }

    fn save_meta(&self) -> std::io::Result<()> {
        let path = self.dir.join("meta.json");
        let tmp = self.dir.join("meta.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&self.meta)?)?;
        std::fs::rename(tmp, path)
    }

    fn remove_old_segments(&mut self) -> std::io::Result<()> {
        while self.segments.front().is_some_and(|s| s.last_seq < self.meta.floor) {
            // The segment being appended to stays until a new one starts.
            if self.segments.len() == 1 && self.appendable {
                break;
            }
            let s = self.segments.pop_front().expect("checked");
            match std::fs::remove_file(&s.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seqs(b: &TelemetryBuffer) -> Vec<i64> {
        b.batch(usize::MAX).samples.iter().map(|r| r.seq).collect()
    }

    fn files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("seg-"))
            .count()
    }

    #[test]
    fn bounded_oldest_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = TelemetryBuffer::open(dir.path(), 3).unwrap();
        for i in 0..5 {
            assert_eq!(b.push(format!("t{i}"), json!({"i": i})).unwrap(), i + 1);
        }
        assert_eq!(seqs(&b), vec![3, 4, 5]);
        assert_eq!(b.dropped(), 2);
        let batch = b.batch(2);
        assert_eq!(batch.samples.len(), 2);
        assert_eq!(batch.dropped, 2);
        assert_eq!(batch.samples[0].sample, json!({"i": 2}));
    }

    #[test]
    fn sequence_and_contents_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut b = TelemetryBuffer::open(dir.path(), 100).unwrap();
            for i in 0..4 {
                b.push("t".into(), json!(i)).unwrap();
            }
            assert_eq!(b.ack_through(2).unwrap(), 2);
        }
        let mut b = TelemetryBuffer::open(dir.path(), 100).unwrap();
        assert_eq!(seqs(&b), vec![3, 4]);
        assert_eq!(b.push("t".into(), json!(4)).unwrap(), 5, "numbers are never reused");
        // meta.json lagging behind the files (a crash between the two writes): still not reused.
        std::fs::write(dir.path().join("meta.json"), r#"{"next_seq":2,"floor":1,"dropped":0}"#).unwrap();
        drop(b);
        let mut b = TelemetryBuffer::open(dir.path(), 100).unwrap();
        assert_eq!(b.next_seq(), 6);
        assert_eq!(b.push("t".into(), json!(5)).unwrap(), 6);
        // A line cut by a crash is skipped, the rest read back.
        let last = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("seg-"))
            .max()
            .unwrap();
        OpenOptions::new().append(true).open(&last).unwrap().write_all(b"{\"seq\":7,\"at").unwrap();
        drop(b);
        let b = TelemetryBuffer::open(dir.path(), 100).unwrap();
        assert_eq!(b.skipped_lines, 1);
        assert_eq!(b.next_seq(), 7);
    }

    #[test]
    fn removed_only_after_ack_and_files_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = TelemetryBuffer::open(dir.path(), 10_000).unwrap();
        for i in 0..(SEGMENT_RECORDS as i64 * 2 + 10) {
            b.push("t".into(), json!(i)).unwrap();
        }
        assert_eq!(files(dir.path()), 3);
        let batch = b.batch(SEGMENT_RECORDS);
        assert_eq!(b.len(), SEGMENT_RECORDS * 2 + 10, "sending does not remove");
        let last = batch.samples.last().unwrap().seq;
        assert_eq!(b.ack_through(last).unwrap(), SEGMENT_RECORDS);
        assert_eq!(files(dir.path()), 2, "a fully acknowledged segment is deleted");
        b.ack_through(b.next_seq() - 1).unwrap();
        assert!(b.is_empty());
        assert_eq!(files(dir.path()), 1, "the segment being written stays");
        drop(b);
        let mut b = TelemetryBuffer::open(dir.path(), 10_000).unwrap();
        assert!(b.is_empty());
        assert_eq!(files(dir.path()), 0);
        assert_eq!(b.push("t".into(), json!(0)).unwrap(), SEGMENT_RECORDS as i64 * 2 + 11);
        // A capacity smaller than what is on disk drops the oldest on opening.
        for _ in 0..4 {
            b.push("t".into(), json!(1)).unwrap();
        }
        drop(b);
        let b = TelemetryBuffer::open(dir.path(), 2).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.dropped(), 3);
    }
}
