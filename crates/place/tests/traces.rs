//! The trace readers on the shared traces (`../shared/data/traces/`) and on broken files:
//! malformed rows are skipped and counted, never dropped silently.

use infergate_place::traces::{azure2019, azure2021, coldstart, TraceError};
use std::path::{Path, PathBuf};

fn traces() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/traces")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn azure2019_sample_of_700_functions() {
    let t = traces();
    let (functions, report) = azure2019::load(
        &t.join("azure2019_invocations_per_minute.csv"),
        &t.join("azure2019_durations.csv"),
        Some(&t.join("azure2019_memory.csv")),
    )
    .unwrap();
    println!("azure 2019: {report}");
    assert_eq!(functions.len(), 700);
    assert_eq!(report.read, 700);
    assert!(functions.iter().all(|f| f.invocations.per_minute.len() == 1440));
    assert!(functions.iter().all(|f| f.durations.percentiles.len() == 7));
    assert!(functions.iter().map(|f| f.invocations.total()).sum::<u64>() > 0);
    assert!(functions.iter().filter(|f| f.memory.is_some()).count() > 0);
}

#[test]
fn both_azure2019_layouts_read_the_same_way() {
    let t = traces();
    let (original, report) =
        azure2019::read_invocations(&t.join("azure2019_10func_invocations_original_schema.csv")).unwrap();
    assert_eq!((original.len(), report.skipped_total()), (10, 0));
    assert!(original.iter().all(|s| s.per_minute.len() == 1440 && s.trigger.is_some()));
    let (d, report) = azure2019::read_durations(&t.join("azure2019_10func_durations_original_schema.csv")).unwrap();
    assert_eq!((d.len(), report.skipped_total()), (10, 0));
    let (m, _) = azure2019::read_memory(&t.join("azure2019_10func_memory_original_schema.csv")).unwrap();
    assert_eq!(m.len(), 10);
}

#[test]
fn azure2021_sample_and_cold_starts() {
    let t = traces();
    let (invocations, report) = azure2021::read_invocations(&t.join("azure2021_invocations_sample.csv")).unwrap();
    println!("azure 2021: {report}");
    assert_eq!(report.read + report.skipped_total(), 998);
    assert_eq!(invocations.len(), report.read);
    assert!(invocations.windows(2).all(|w| w[0].start_s <= w[1].start_s), "sorted by start");
    let (profiles, report) = coldstart::read(&t.join("lambda_perf_coldstart.json")).unwrap();
    println!("cold starts: {report}");
    assert!(profiles.len() > 10);
    assert!(profiles.iter().any(|p| p.runtime.contains("python")));
    assert!(profiles.iter().all(|p| !p.init_ms.is_empty() && p.memory_mb > 0));
}

#[test]
fn malformed_rows_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "HashFunction,HashApp,HashOwner,minute_1,minute_2\n\
         f1,a1,o1,3,4\n\
         f2,a1,o1,x,4\n\
         f3,a1,o1,-1,4\n\
         f4,a1,o1,1.5,4\n\
         ,a1,o1,1,1\n\
         f6,a1,o1,1\n\
         f7,a1,o1,0,0\n",
    );
    let (series, report) = azure2019::read_invocations(&inv).unwrap();
    assert_eq!(series.iter().map(|s| s.function.as_str()).collect::<Vec<_>>(), ["f1", "f7"]);
    assert_eq!(report.read, 2);
    assert_eq!(report.skipped_total(), 5, "{report}");
    assert_eq!(report.skipped["non-numeric count of minute 1"], 1);
    assert_eq!(report.skipped["missing HashFunction"], 1);
    assert_eq!(report.skipped["missing count of minute 2"], 1);
    assert_eq!(report.examples[0], (3, "non-numeric count of minute 1".to_string()));

    let dur = write(
        dir.path(),
        "dur.csv",
        "HashFunction,HashApp,HashOwner,Count,Average,Minimum,Maximum,percentile_Average_0,percentile_Average_1,\
         percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100\n\
         f1,a1,o1,10,5,1,9,1,1,2,5,6,8,9\n\
         f7,a1,o1,10,5,1,9,1,1,2,5,4,8,9\n",
    );
    let (functions, report) = azure2019::load(&inv, &dur, None).unwrap();
    assert_eq!(functions.len(), 1, "f7's percentiles go down, so f7 has no durations");
    assert_eq!(report.skipped["durations file: percentiles not ascending"], 1);
    assert_eq!(report.skipped["function without duration statistics"], 1);

    let wrong = write(dir.path(), "wrong.csv", "app,func,end_timestamp\nx,y,1\n");
    assert!(matches!(azure2021::read_invocations(&wrong), Err(TraceError::MissingColumn { .. })));
    let no_minutes = write(dir.path(), "nom.csv", "HashFunction,HashApp,HashOwner,minute_2\nf,a,o,1\n");
    assert!(matches!(azure2019::read_invocations(&no_minutes), Err(TraceError::Format { .. })));
    let inv21 = write(dir.path(), "i21.csv", "app,func,end_timestamp,duration\na,f,10,2\na,f,1,2\na,f,5,nan\n");
    let (rows, report) = azure2021::read_invocations(&inv21).unwrap();
    assert_eq!((rows.len(), report.skipped_total()), (1, 2), "{report}");
    assert_eq!(rows[0].start_s, 8.0);
    let cold = write(
        dir.path(),
        "c.json",
        r#"{"runtimeData":[{"r":"x","p":"zip","d":"x","i":[1.0],"m":128,"a":"arm64"},{"r":"y"},{"r":"z","p":"zip","d":"z","i":[],"m":128,"a":"x86_64"}]}"#,
    );
    let (profiles, report) = coldstart::read(&cold).unwrap();
    assert_eq!((profiles.len(), report.skipped_total()), (1, 2));
    assert!(matches!(coldstart::read(&write(dir.path(), "bad.json", "[]")), Err(TraceError::Format { .. })));
}
