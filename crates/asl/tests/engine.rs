//! End-to-end tests of the interpreter, mostly taken from the examples of
//! the Amazon States Language specification and the AWS developer guide.

mod common;

use asl::{EngineError, EventType, ExecutionStatus, FileStore, MemoryStore, TaskError, TokioClock};
use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------- paths

#[tokio::test(start_paused = true)]
async fn pass_result_with_nested_result_path_and_output_path() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass",
        "Result":{"x-datum":0.381018,"y-datum":622.2269926397355},
        "ResultPath":"$.coords.result","OutputPath":"$.coords","End":true}}}"#;
    let d = run(def, json!({"georefOf": "Home"}), echo()).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        d.output.unwrap(),
        json!({"result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}})
    );
}

#[tokio::test(start_paused = true)]
async fn task_input_output_processing_in_spec_order() {
    // InputPath -> Parameters -> task -> ResultSelector -> ResultPath -> OutputPath
    let seen = Arc::new(Mutex::new(Value::Null));
    let s2 = seen.clone();
    let h = handler(move |call| {
        *s2.lock().unwrap() = call.input.clone();
        Ok(json!({"Payload": {"sum": 3, "junk": true}, "StatusCode": 200}))
    });
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:x",
        "InputPath":"$.lib",
        "Parameters":{"a.$":"$.a","const":"c","exec.$":"$$.Execution.Name"},
        "ResultSelector":{"total.$":"$.Payload.sum","code.$":"$.StatusCode"},
        "ResultPath":"$.lib.out",
        "OutputPath":"$.lib",
        "End":true}}}"#;
    let e = engine(h);
    let sm = e.create_state_machine("order", def).unwrap();
    let arn = e
        .start_execution(&sm, Some("run1"), json!({"lib": {"a": 1}, "other": 2}))
        .unwrap();
    let d = e.wait_for_execution(&arn).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        json!({"a": 1, "const": "c", "exec": "run1"})
    );
    assert_eq!(
        d.output.unwrap(),
        json!({"a": 1, "out": {"total": 3, "code": 200}})
    );
}

#[tokio::test(start_paused = true)]
async fn result_path_null_and_io_paths_null() {
    let def = r#"{"StartAt":"A","States":{
        "A":{"Type":"Pass","Result":"ignored","ResultPath":null,"Next":"B"},
        "B":{"Type":"Pass","InputPath":null,"ResultPath":"$.fromEmpty","Next":"C"},
        "C":{"Type":"Pass","OutputPath":null,"End":true}}}"#;
    let d = run(def, json!({"keep": 1}), echo()).await;
    // A keeps the input; B's effective input is {} and is written into the raw input;
    // C's OutputPath null gives {}.
    assert_eq!(d.output.unwrap(), json!({}));
    let def2 = r#"{"StartAt":"A","States":{
        "A":{"Type":"Pass","Result":"ignored","ResultPath":null,"Next":"B"},
        "B":{"Type":"Pass","InputPath":null,"ResultPath":"$.fromEmpty","End":true}}}"#;
    let d = run(def2, json!({"keep": 1}), echo()).await;
    assert_eq!(d.output.unwrap(), json!({"keep": 1, "fromEmpty": {}}));
}

#[tokio::test(start_paused = true)]
async fn result_path_match_failure_is_catchable() {
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"r","ResultPath":"$.a.b","End":true,
             "Catch":[{"ErrorEquals":["States.ResultPathMatchFailure"],"Next":"C"}]},
        "C":{"Type":"Pass","End":true}}}"#;
    let d = run(def, json!({"a": "not an object"}), echo()).await;
    let out = d.output.unwrap();
    assert_eq!(out["Error"], json!("States.ResultPathMatchFailure"));
}

#[tokio::test(start_paused = true)]
async fn parameter_path_failure_and_runtime_errors() {
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"r","Parameters":{"x.$":"$.missing"},"End":true,
             "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}]},
        "C":{"Type":"Pass","End":true}}}"#;
    let d = run(def, json!({}), echo()).await;
    assert_eq!(
        d.output.unwrap()["Error"],
        json!("States.ParameterPathFailure")
    );

    // A bad InputPath is States.Runtime, which States.ALL does not catch.
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"r","InputPath":"$.missing","End":true,
             "Retry":[{"ErrorEquals":["States.ALL"]}],
             "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}]},
        "C":{"Type":"Pass","End":true}}}"#;
    let d = run(def, json!({}), echo()).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test(start_paused = true)]
async fn context_object_fields() {
    let def = r#"{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{
        "id.$":"$$.Execution.Id","name.$":"$$.Execution.Name","input.$":"$$.Execution.Input",
        "start.$":"$$.Execution.StartTime","entered.$":"$$.State.EnteredTime",
        "state.$":"$$.State.Name","retries.$":"$$.State.RetryCount",
        "smid.$":"$$.StateMachine.Id","smname.$":"$$.StateMachine.Name"},"End":true}}}"#;
    let e = engine(echo());
    let sm = e.create_state_machine("ctx", def).unwrap();
    assert_eq!(sm, "arn:aws:states:local:000000000000:stateMachine:ctx");
    let arn = e.start_execution(&sm, Some("e1"), json!({"k": 1})).unwrap();
    assert_eq!(arn, "arn:aws:states:local:000000000000:execution:ctx:e1");
    let out = e.wait_for_execution(&arn).await.unwrap().output.unwrap();
    assert_eq!(
        out,
        json!({"id": arn, "name": "e1", "input": {"k": 1},
               "start": "2024-01-01T00:00:00.000Z", "entered": "2024-01-01T00:00:00.000Z",
               "state": "S", "retries": 0, "smid": sm, "smname": "ctx"})
    );
}

#[tokio::test(start_paused = true)]
async fn intrinsics_in_parameters_keep_integers() {
    let def = r#"{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{
        "sum.$":"States.MathAdd($.a, 2)",
        "range.$":"States.ArrayRange(1, 5, 2)",
        "msg.$":"States.Format('n={} s={}', $.a, States.JsonToString($.o))"},
        "ResultSelector":{"ignored":"Pass has no ResultSelector"},"End":true}}}"#;
    // Pass does not allow ResultSelector: a definition error.
    let e = engine(echo());
    assert!(e.create_state_machine("bad", def).is_err());
    let def = def.replace(
        r#""ResultSelector":{"ignored":"Pass has no ResultSelector"},"#,
        "",
    );
    let d = run(&def, json!({"a": 1, "o": {"z": [1, 2.5]}}), echo()).await;
    let out = d.output.unwrap();
    assert_eq!(
        out.to_string(),
        r#"{"sum":3,"range":[1,3,5],"msg":"n=1 s={\"z\":[1,2.5]}"}"#
    );
}

#[tokio::test(start_paused = true)]
async fn intrinsic_failure_is_catchable() {
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"r","Parameters":{"x.$":"States.StringToJson($.s)"},
             "End":true,"Catch":[{"ErrorEquals":["States.IntrinsicFailure"],"ResultPath":"$.err","Next":"C"}]},
        "C":{"Type":"Pass","End":true}}}"#;
    let d = run(def, json!({"s": "{not json"}), echo()).await;
    let out = d.output.unwrap();
    assert_eq!(out["s"], json!("{not json"));
    assert_eq!(out["err"]["Error"], json!("States.IntrinsicFailure"));
}

// ---------------------------------------------------------------- choice

async fn choice_holds(rule: Value, input: Value) -> bool {
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
        "Yes": {"Type": "Pass", "Result": true, "End": true},
        "No": {"Type": "Pass", "Result": false, "End": true}}});
    let d = run(&def.to_string(), input, echo()).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d);
    d.output.unwrap().as_bool().unwrap()
}

#[tokio::test(start_paused = true)]
async fn every_choice_operator() {
    let input = json!({
        "s": "beta", "n": 5, "f": 2.5, "b": true, "t": "2024-01-02T00:00:00Z",
        "nul": null, "other": {"s": "beta", "n": 5, "t": "2024-01-02T00:00:00Z", "b": true},
        "star": "a*b", "file": "log-2024.txt"
    });
    let cases: Vec<(Value, bool)> = vec![
        (json!({"Variable": "$.s", "StringEquals": "beta"}), true),
        (json!({"Variable": "$.s", "StringEquals": "alpha"}), false),
        (json!({"Variable": "$.n", "StringEquals": "5"}), false), // type mismatch
        (json!({"Variable": "$.s", "StringLessThan": "gamma"}), true),
        (
            json!({"Variable": "$.s", "StringGreaterThan": "alpha"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringLessThanEquals": "beta"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringGreaterThanEquals": "c"}),
            false,
        ),
        (
            json!({"Variable": "$.file", "StringMatches": "log-*.txt"}),
            true,
        ),
        (
            json!({"Variable": "$.file", "StringMatches": "*.csv"}),
            false,
        ),
        (
            json!({"Variable": "$.star", "StringMatches": "a\\*b"}),
            true,
        ),
        (
            json!({"Variable": "$.file", "StringMatches": "log\\*"}),
            false,
        ),
        (json!({"Variable": "$.n", "NumericEquals": 5}), true),
        (json!({"Variable": "$.n", "NumericEquals": 5.0}), true),
        (json!({"Variable": "$.s", "NumericEquals": 5}), false),
        (json!({"Variable": "$.f", "NumericLessThan": 3}), true),
        (json!({"Variable": "$.f", "NumericGreaterThan": 2.5}), false),
        (
            json!({"Variable": "$.f", "NumericLessThanEquals": 2.5}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericGreaterThanEquals": 6}),
            false,
        ),
        (json!({"Variable": "$.b", "BooleanEquals": true}), true),
        (json!({"Variable": "$.b", "BooleanEquals": false}), false),
        (
            json!({"Variable": "$.t", "TimestampEquals": "2024-01-02T00:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampEquals": "2024-01-02T01:00:00+01:00"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThan": "2024-01-01T00:00:00Z"}),
            false,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThan": "2024-01-01T00:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThanEquals": "2024-01-02T00:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2025-01-01T00:00:00Z"}),
            false,
        ),
        (
            json!({"Variable": "$.s", "TimestampEquals": "2024-01-02T00:00:00Z"}),
            false,
        ),
        (
            json!({"Variable": "$.s", "StringEqualsPath": "$.other.s"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringLessThanPath": "$.other.s"}),
            false,
        ),
        (
            json!({"Variable": "$.s", "StringGreaterThanPath": "$.other.s"}),
            false,
        ),
        (
            json!({"Variable": "$.s", "StringLessThanEqualsPath": "$.other.s"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringGreaterThanEqualsPath": "$.other.s"}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericEqualsPath": "$.other.n"}),
            true,
        ),
        (
            json!({"Variable": "$.f", "NumericLessThanPath": "$.other.n"}),
            true,
        ),
        (
            json!({"Variable": "$.f", "NumericGreaterThanPath": "$.other.n"}),
            false,
        ),
        (
            json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.other.n"}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.other.n"}),
            true,
        ),
        (
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.other.b"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampEqualsPath": "$.other.t"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThanPath": "$.other.t"}),
            false,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.other.t"}),
            false,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.other.t"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThanEqualsPath": "$.other.t"}),
            true,
        ),
        (json!({"Variable": "$.nul", "IsNull": true}), true),
        (json!({"Variable": "$.s", "IsNull": true}), false),
        (json!({"Variable": "$.s", "IsPresent": true}), true),
        (json!({"Variable": "$.nope", "IsPresent": true}), false),
        (json!({"Variable": "$.nope", "IsPresent": false}), true),
        (json!({"Variable": "$.n", "IsNumeric": true}), true),
        (json!({"Variable": "$.s", "IsNumeric": false}), true),
        (json!({"Variable": "$.s", "IsString": true}), true),
        (json!({"Variable": "$.b", "IsBoolean": true}), true),
        (json!({"Variable": "$.t", "IsTimestamp": true}), true),
        (json!({"Variable": "$.s", "IsTimestamp": true}), false),
        (
            json!({"And": [{"Variable": "$.n", "NumericGreaterThan": 1},
                        {"Variable": "$.s", "StringEquals": "beta"}]}),
            true,
        ),
        (
            json!({"And": [{"Variable": "$.n", "NumericGreaterThan": 1},
                        {"Variable": "$.s", "StringEquals": "x"}]}),
            false,
        ),
        (
            json!({"Or": [{"Variable": "$.n", "NumericGreaterThan": 10},
                       {"Variable": "$.s", "StringEquals": "beta"}]}),
            true,
        ),
        (
            json!({"Not": {"Variable": "$.s", "StringEquals": "beta"}}),
            false,
        ),
        (
            json!({"Not": {"Variable": "$.s", "StringEquals": "x"}}),
            true,
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(
            choice_holds(rule.clone(), input.clone()).await,
            expected,
            "rule {rule}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn choice_first_match_default_nomatch_and_bad_variable() {
    let def = r#"{"StartAt":"C","States":{
        "C":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.v","Choices":[
            {"Variable":"$.v","NumericGreaterThan":1,"Next":"A"},
            {"Variable":"$.v","NumericGreaterThan":0,"Next":"B"}]},
        "A":{"Type":"Pass","Result":"A","End":true},
        "B":{"Type":"Pass","ResultPath":"$.was","Result":"B","End":true}}}"#;
    let d = run(def, json!({"in": {"v": 5}}), echo()).await;
    assert_eq!(d.output.unwrap(), json!("A"));
    // B receives the Choice output (OutputPath $.v = 0.5) ... which is not an object.
    let d = run(def, json!({"in": {"v": 0.5}}), echo()).await;
    assert_eq!(d.error.as_deref(), Some("States.ResultPathMatchFailure"));
    let d = run(def, json!({"in": {"v": -1}}), echo()).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.NoChoiceMatched"));
    let d = run(def, json!({"in": {}}), echo()).await;
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
}

// ---------------------------------------------------------------- wait

#[tokio::test(start_paused = true)]
async fn wait_variants_use_the_clock() {
    let def = r#"{"StartAt":"W1","States":{
        "W1":{"Type":"Wait","Seconds":300,"Next":"W2"},
        "W2":{"Type":"Wait","SecondsPath":"$.secs","Next":"W3"},
        "W3":{"Type":"Wait","Timestamp":"2024-01-01T01:00:00Z","Next":"W4"},
        "W4":{"Type":"Wait","TimestampPath":"$.until","End":true}}}"#;
    let e = engine(echo());
    let sm = e.create_state_machine("wait", def).unwrap();
    let arn = e
        .start_execution(
            &sm,
            None,
            json!({"secs": 60, "until": "2024-01-01T02:00:00Z"}),
        )
        .unwrap();
    let d = e.wait_for_execution(&arn).await.unwrap();
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    let h = e.get_execution_history(&arn).unwrap();
    let exits: Vec<String> = h
        .iter()
        .filter(|e| e.event_type == EventType::WaitStateExited)
        .map(|e| e.timestamp.format("%H:%M:%S").to_string())
        .collect();
    assert_eq!(exits, vec!["00:05:00", "00:06:00", "01:00:00", "02:00:00"]);
    assert_eq!(
        d.stop_date.unwrap() - d.start_date,
        chrono::Duration::hours(2)
    );
    // A bad SecondsPath value is a runtime error.
    let d = run(def, json!({"secs": "soon", "until": "x"}), echo()).await;
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
}

// ---------------------------------------------------------------- retry / catch

fn failing_recorder(
    times: Arc<Mutex<Vec<i64>>>,
    fail_times: usize,
    error: &'static str,
) -> Arc<dyn asl::TaskHandler> {
    let clock = TokioClock::starting_at(t0());
    handler(move |_call| {
        use asl::Clock;
        let mut t = times.lock().unwrap();
        t.push((clock.now() - t0()).num_milliseconds());
        if t.len() <= fail_times {
            Err(TaskError::new(error, "boom"))
        } else {
            Ok(json!("ok"))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn retry_backoff_timing_is_exact() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,
        "Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":2,"BackoffRate":2,"MaxAttempts":3}]}}}"#;
    let d = run(def, json!({}), failing_recorder(times.clone(), 10, "Boom")).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("Boom"));
    // First call at 0, retries at +2 s, +4 s, +8 s.
    assert_eq!(*times.lock().unwrap(), vec![0, 2000, 6000, 14000]);

    let times = Arc::new(Mutex::new(Vec::new()));
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,
        "Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":4,
                  "MaxDelaySeconds":10,"JitterStrategy":"NONE"}]}}}"#;
    let d = run(def, json!({}), failing_recorder(times.clone(), 10, "Boom")).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    // Delays 2, 6, 18->10, 54->10.
    assert_eq!(*times.lock().unwrap(), vec![0, 2000, 8000, 18000, 28000]);
}

#[tokio::test(start_paused = true)]
async fn retry_defaults_success_after_retry_and_retry_count() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,
        "ResultSelector":{"r.$":"$","n.$":"$$.State.RetryCount"},
        "Retry":[{"ErrorEquals":["States.TaskFailed"]}]}}}"#;
    let d = run(def, json!({}), failing_recorder(times.clone(), 2, "Custom")).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(d.output.unwrap(), json!({"r": "ok", "n": 2}));
    // Defaults: IntervalSeconds 1, BackoffRate 2.0.
    assert_eq!(*times.lock().unwrap(), vec![0, 1000, 3000]);

    // MaxAttempts 0: never retried; the first matching retrier decides even
    // when a later one would allow retries.
    let times = Arc::new(Mutex::new(Vec::new()));
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,
        "Retry":[{"ErrorEquals":["Custom"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"]}]}}}"#;
    let d = run(def, json!({}), failing_recorder(times.clone(), 5, "Custom")).await;
    assert_eq!(d.error.as_deref(), Some("Custom"));
    assert_eq!(times.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn catch_order_result_path_and_task_failed_matching() {
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"r","Next":"Done","Catch":[
            {"ErrorEquals":["Other"],"Next":"Wrong"},
            {"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.error","Next":"Handled"},
            {"ErrorEquals":["States.ALL"],"Next":"Wrong"}]},
        "Handled":{"Type":"Pass","End":true},
        "Wrong":{"Type":"Fail","Error":"Wrong"},
        "Done":{"Type":"Succeed"}}}"#;
    let h = handler(|_| Err(TaskError::new("MyError", "it broke")));
    let d = run(def, json!({"orig": 1}), h).await;
    assert_eq!(
        d.output.unwrap(),
        json!({"orig": 1, "error": {"Error": "MyError", "Cause": "it broke"}})
    );
    // Catch without ResultPath replaces the input with the error output.
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}]},
        "H":{"Type":"Pass","End":true}}}"#;
    let h = handler(|_| Err(TaskError::new("X", "y")));
    let d = run(def, json!({"orig": 1}), h).await;
    assert_eq!(d.output.unwrap(), json!({"Error": "X", "Cause": "y"}));
}

#[tokio::test(start_paused = true)]
async fn task_timeout_is_not_task_failed() {
    let slow: Arc<dyn asl::TaskHandler> = Arc::new(
        |_call: asl::TaskCall| -> asl::BoxFuture<'static, Result<Value, TaskError>> {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(100)).await;
                Ok(json!("late"))
            })
        },
    );
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"r","TimeoutSeconds":5,"End":true,"Catch":[
            {"ErrorEquals":["States.TaskFailed"],"Next":"Wrong"},
            {"ErrorEquals":["States.Timeout"],"Next":"TimedOut"}]},
        "Wrong":{"Type":"Fail","Error":"Wrong"},
        "TimedOut":{"Type":"Pass","End":true}}}"#;
    let e = engine(slow.clone());
    let d = run_with(&e, def, json!({})).await;
    assert_eq!(d.output.unwrap()["Error"], json!("States.Timeout"));
    assert_eq!(
        d.stop_date.unwrap() - d.start_date,
        chrono::Duration::seconds(5)
    );
    let types = event_types(&e, &d.execution_arn);
    assert!(types.contains(&EventType::TaskTimedOut));

    // TimeoutSecondsPath.
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r",
        "TimeoutSecondsPath":"$.t","End":true}}}"#;
    let d = run(def, json!({"t": 7}), slow).await;
    assert_eq!(d.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        d.stop_date.unwrap() - d.start_date,
        chrono::Duration::seconds(7)
    );
}

// ---------------------------------------------------------------- map / parallel

fn delayed_doubler() -> Arc<dyn asl::TaskHandler> {
    Arc::new(
        |call: asl::TaskCall| -> asl::BoxFuture<'static, Result<Value, TaskError>> {
            Box::pin(async move {
                let n = call.input["n"].as_i64().unwrap_or(0);
                // Later items finish first.
                tokio::time::sleep(Duration::from_secs((10 - n) as u64)).await;
                if n < 0 {
                    return Err(TaskError::new("Negative", format!("{n}")));
                }
                Ok(json!(n * 2))
            })
        },
    )
}

#[tokio::test(start_paused = true)]
async fn map_output_order_item_selector_and_concurrency() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemSelector":{"n.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index","k.$":"$.k"},
        "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"T","States":{
            "T":{"Type":"Task","Resource":"r","End":true}}},
        "ResultPath":"$.out","End":true}}}"#;
    let d = run(
        def,
        json!({"items": [1, 2, 3], "k": "x"}),
        delayed_doubler(),
    )
    .await;
    assert_eq!(
        d.output.unwrap(),
        json!({"items": [1, 2, 3], "k": "x", "out": [2, 4, 6]})
    );
    // All run concurrently: total time is the slowest item (9 s).
    assert_eq!(
        d.stop_date.unwrap() - d.start_date,
        chrono::Duration::seconds(9)
    );

    // MaxConcurrency 1 with the legacy Iterator/Parameters fields: sequential.
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,
        "Parameters":{"n.$":"$$.Map.Item.Value"},
        "Iterator":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}},
        "End":true}}}"#;
    let d = run(def, json!([1, 2, 3]), delayed_doubler()).await;
    assert_eq!(d.output.unwrap(), json!([2, 4, 6]));
    assert_eq!(
        d.stop_date.unwrap() - d.start_date,
        chrono::Duration::seconds(9 + 8 + 7)
    );

    // Empty array.
    let d = run(def, json!([]), delayed_doubler()).await;
    assert_eq!(d.output.unwrap(), json!([]));
}

#[tokio::test(start_paused = true)]
async fn map_failure_propagates_and_is_catchable() {
    let def = r#"{"StartAt":"M","States":{
        "M":{"Type":"Map","ItemSelector":{"n.$":"$$.Map.Item.Value"},
             "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}},
             "End":true}}}"#;
    let d = run(def, json!([1, -1, 3]), delayed_doubler()).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("Negative"));
    let caught = r#"{"StartAt":"M","States":{
        "M":{"Type":"Map","ItemSelector":{"n.$":"$$.Map.Item.Value"},
             "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}},
             "End":true,"Catch":[{"ErrorEquals":["Negative"],"Next":"C"}]},
        "C":{"Type":"Pass","End":true}}}"#;
    let d = run(caught, json!([1, -1, 3]), delayed_doubler()).await;
    assert_eq!(
        d.output.unwrap(),
        json!({"Error": "Negative", "Cause": "-1"})
    );
    // ItemsPath must select an array.
    let d = run(def, json!({"not": "array"}), delayed_doubler()).await;
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test(start_paused = true)]
async fn parallel_output_order_and_failure() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,
        "ResultSelector":{"a.$":"$[0]","b.$":"$[1]"},
        "Branches":[
          {"StartAt":"Slow","States":{"Slow":{"Type":"Wait","Seconds":10,"Next":"A"},
                                      "A":{"Type":"Pass","Result":"first","End":true}}},
          {"StartAt":"B","States":{"B":{"Type":"Pass","InputPath":"$.x","End":true}}}]}}}"#;
    let e = engine(echo());
    let d = run_with(&e, def, json!({"x": 42})).await;
    assert_eq!(d.output.unwrap(), json!({"a": "first", "b": 42}));
    let types = event_types(&e, &d.execution_arn);
    for t in [
        EventType::ExecutionStarted,
        EventType::ParallelStateEntered,
        EventType::ParallelStateStarted,
        EventType::WaitStateEntered,
        EventType::PassStateEntered,
        EventType::ParallelStateSucceeded,
        EventType::ParallelStateExited,
        EventType::ExecutionSucceeded,
    ] {
        assert!(types.contains(&t), "missing {t}");
    }

    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Done",
        "Branches":[
          {"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1000,"End":true}}},
          {"StartAt":"F","States":{"F":{"Type":"Fail","Error":"BranchBoom","Cause":"c"}}}],
        "Catch":[{"ErrorEquals":["BranchBoom"],"ResultPath":"$.e","Next":"Done"}]},
        "Done":{"Type":"Succeed"}}}"#;
    let d = run(def, json!({}), echo()).await;
    assert_eq!(
        d.output.unwrap(),
        json!({"e": {"Error": "BranchBoom", "Cause": "c"}})
    );
    // The failing branch aborted the 1000 s wait.
    assert!(d.stop_date.unwrap() - d.start_date < chrono::Duration::seconds(1));
}

#[tokio::test(start_paused = true)]
async fn fail_state_and_error_paths() {
    let def =
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"$.c"}}}"#;
    let e = engine(echo());
    let d = run_with(&e, def, json!({"e": "E1", "c": "C1"})).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(
        (d.error.as_deref(), d.cause.as_deref()),
        (Some("E1"), Some("C1"))
    );
    let types = event_types(&e, &d.execution_arn);
    assert_eq!(
        types,
        vec![
            EventType::ExecutionStarted,
            EventType::FailStateEntered,
            EventType::ExecutionFailed
        ]
    );
}

// ---------------------------------------------------------------- task tokens

fn token_catcher(tokens: Arc<Mutex<Vec<(String, Value)>>>) -> Arc<dyn asl::TaskHandler> {
    handler(move |call| {
        tokens.lock().unwrap().push((
            call.task_token.clone().unwrap_or_default(),
            call.input.clone(),
        ));
        Ok(json!({"accepted": true}))
    })
}

async fn wait_for_token(tokens: &Arc<Mutex<Vec<(String, Value)>>>, n: usize) -> String {
    for _ in 0..1000 {
        if let Some(t) = tokens.lock().unwrap().get(n - 1) {
            return t.0.clone();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("no task token issued");
}

const TOKEN_DEF: &str = r#"{"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
         "Parameters":{"token.$":"$$.Task.Token","body.$":"$.body"},
         "HeartbeatSeconds":60,"TimeoutSeconds":600,"ResultPath":"$.result","Next":"Done",
         "Catch":[{"ErrorEquals":["States.Timeout"],"ResultPath":"$.timeout","Next":"Done"}]},
    "Done":{"Type":"Pass","End":true}}}"#;

#[tokio::test(start_paused = true)]
async fn wait_for_task_token_success_with_heartbeats() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let e = engine(token_catcher(tokens.clone()));
    let sm = e.create_state_machine("tok", TOKEN_DEF).unwrap();
    let arn = e.start_execution(&sm, None, json!({"body": "hi"})).unwrap();
    let token = wait_for_token(&tokens, 1).await;
    // The token was visible to Parameters as $$.Task.Token.
    assert_eq!(
        tokens.lock().unwrap()[0].1,
        json!({"token": token, "body": "hi"})
    );
    // Heartbeats every 50 s keep it alive past 60 s.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(50)).await;
        e.send_task_heartbeat(&token).unwrap();
    }
    assert_eq!(
        e.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    e.send_task_success(&token, json!({"done": 1})).unwrap();
    let d = e.wait_for_execution(&arn).await.unwrap();
    assert_eq!(
        d.output.unwrap(),
        json!({"body": "hi", "result": {"done": 1}})
    );
    // The token is finished now.
    assert!(matches!(
        e.send_task_success(&token, json!(1)),
        Err(EngineError::TaskDoesNotExist(_))
    ));
    assert!(matches!(
        e.send_task_heartbeat("never-issued"),
        Err(EngineError::InvalidToken(_))
    ));
    let types = event_types(&e, &arn);
    assert!(types.contains(&EventType::TaskSubmitted));
    assert!(types.contains(&EventType::TaskSucceeded));
}

#[tokio::test(start_paused = true)]
async fn wait_for_task_token_failure_and_heartbeat_timeout() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let e = engine(token_catcher(tokens.clone()));
    let sm = e.create_state_machine("tok", TOKEN_DEF).unwrap();
    let arn = e.start_execution(&sm, None, json!({"body": 1})).unwrap();
    let token = wait_for_token(&tokens, 1).await;
    e.send_task_failure(&token, Some("Rejected"), Some("nope"))
        .unwrap();
    let d = e.wait_for_execution(&arn).await.unwrap();
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(
        (d.error.as_deref(), d.cause.as_deref()),
        (Some("Rejected"), Some("nope"))
    );

    // No heartbeat: States.HeartbeatTimeout after 60 s, matched by States.Timeout.
    let arn = e.start_execution(&sm, None, json!({"body": 2})).unwrap();
    let d = e.wait_for_execution(&arn).await.unwrap();
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        d.output.unwrap()["timeout"]["Error"],
        json!("States.HeartbeatTimeout")
    );
    assert_eq!(
        d.stop_date.unwrap() - d.start_date,
        chrono::Duration::seconds(60)
    );

    // Heartbeats but never finished: TimeoutSeconds (600) bounds the whole wait.
    let arn = e.start_execution(&sm, None, json!({"body": 3})).unwrap();
    let token = wait_for_token(&tokens, 3).await;
    let e2 = e.clone();
    let hb = tokio::spawn(async move {
        while e2.send_task_heartbeat(&token).is_ok() {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
    let d = e.wait_for_execution(&arn).await.unwrap();
    hb.await.unwrap();
    assert_eq!(
        d.output.unwrap()["timeout"]["Error"],
        json!("States.Timeout")
    );
    assert_eq!(
        d.stop_date.unwrap() - d.start_date,
        chrono::Duration::seconds(600)
    );
}

// ---------------------------------------------------------------- executions

#[tokio::test(start_paused = true)]
async fn execution_names_list_stop_and_timeout() {
    let def = r#"{"StartAt":"W","TimeoutSeconds":100,"States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}"#;
    let e = engine(echo());
    let sm = e.create_state_machine("life", def).unwrap();
    // Same name + same definition is idempotent; a different one is refused.
    assert_eq!(e.create_state_machine("life", def).unwrap(), sm);
    assert!(matches!(
        e.create_state_machine(
            "life",
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#
        ),
        Err(EngineError::StateMachineAlreadyExists(_))
    ));
    let a = e
        .start_execution(&sm, Some("a"), json!({"s": 1000}))
        .unwrap();
    assert!(matches!(
        e.start_execution(&sm, Some("a"), json!({"s": 1})),
        Err(EngineError::ExecutionAlreadyExists(_))
    ));
    let b = e
        .start_execution(&sm, Some("b"), json!({"s": 1000}))
        .unwrap();
    let c = e.start_execution(&sm, Some("c"), json!({"s": 5})).unwrap();
    assert!(matches!(
        e.start_execution(
            "arn:aws:states:local:000000000000:stateMachine:nope",
            None,
            json!({})
        ),
        Err(EngineError::StateMachineDoesNotExist(_))
    ));
    assert_eq!(
        e.wait_for_execution(&c).await.unwrap().status,
        ExecutionStatus::Succeeded
    );
    e.stop_execution(&b, Some("Stopped"), Some("by test"))
        .unwrap();
    let db = e.describe_execution(&b).unwrap();
    assert_eq!(db.status, ExecutionStatus::Aborted);
    assert_eq!(db.error.as_deref(), Some("Stopped"));
    assert_eq!(
        event_types(&e, &b).last(),
        Some(&EventType::ExecutionAborted)
    );
    let da = e.wait_for_execution(&a).await.unwrap();
    assert_eq!(da.status, ExecutionStatus::TimedOut);
    assert_eq!(da.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        da.stop_date.unwrap() - da.start_date,
        chrono::Duration::seconds(100)
    );
    assert_eq!(
        event_types(&e, &a).last(),
        Some(&EventType::ExecutionTimedOut)
    );
    // Still refused after it finished.
    assert!(e.start_execution(&sm, Some("a"), json!({})).is_err());

    let names = |s: Option<ExecutionStatus>| -> Vec<String> {
        let mut v: Vec<String> = e
            .list_executions(&sm, s)
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(None), vec!["a", "b", "c"]);
    assert_eq!(names(Some(ExecutionStatus::Aborted)), vec!["b"]);
    assert_eq!(names(Some(ExecutionStatus::Succeeded)), vec!["c"]);
    assert!(names(Some(ExecutionStatus::Running)).is_empty());
}

#[tokio::test(start_paused = true)]
async fn history_events_have_ids_and_details() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:r","Next":"C"},
        "C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"S"}]},
        "S":{"Type":"Succeed"}}}"#;
    let e = engine(echo());
    let d = run_with(&e, def, json!({"a": 1})).await;
    let h = e.get_execution_history(&d.execution_arn).unwrap();
    let types: Vec<EventType> = h.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        vec![
            EventType::ExecutionStarted,
            EventType::TaskStateEntered,
            EventType::TaskScheduled,
            EventType::TaskStarted,
            EventType::TaskSucceeded,
            EventType::TaskStateExited,
            EventType::ChoiceStateEntered,
            EventType::ChoiceStateExited,
            EventType::SucceedStateEntered,
            EventType::SucceedStateExited,
            EventType::ExecutionSucceeded,
        ]
    );
    for (i, ev) in h.iter().enumerate() {
        assert_eq!(ev.id, i as u64 + 1);
        assert_eq!(ev.previous_event_id, i as u64);
    }
    assert_eq!(h[2].details["resource"], json!("arn:r"));
    assert_eq!(h[1].details["input"], json!({"a": 1}));
    assert_eq!(h[10].details["output"], json!({"a": 1}));
}

// ---------------------------------------------------------------- resume

/// Runs phase 1 on its own runtime, which is then shut down (a "crash"),
/// and phase 2 on a fresh engine over the same store.
fn restart_scenario(store: Arc<dyn asl::ExecutionStore>) {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let def = r#"{"StartAt":"First","States":{
        "First":{"Type":"Pass","Result":"p","ResultPath":"$.first","Next":"T"},
        "T":{"Type":"Task","Resource":"arn:x.waitForTaskToken",
             "Parameters":{"token.$":"$$.Task.Token"},"ResultPath":"$.cb","Next":"Last"},
        "Last":{"Type":"Pass","End":true}}}"#;
    let rt1 = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (arn, token) = rt1.block_on(async {
        let e = asl::Engine::builder(token_catcher(tokens.clone()))
            .store(store.clone())
            .build();
        let sm = e.create_state_machine("resumable", def).unwrap();
        let arn = e
            .start_execution(&sm, Some("r1"), json!({"in": 1}))
            .unwrap();
        let token = wait_for_token(&tokens, 1).await;
        // Let the engine checkpoint the TaskSubmitted state.
        tokio::time::sleep(Duration::from_millis(20)).await;
        (arn, token)
    });
    rt1.shutdown_background();

    let rt2 = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt2.block_on(async {
        let tokens2 = Arc::new(Mutex::new(Vec::new()));
        let e = asl::Engine::builder(token_catcher(tokens2.clone()))
            .store(store.clone())
            .build();
        assert_eq!(e.resume().unwrap(), 1);
        // The callback with the pre-restart token is accepted.
        e.send_task_success(&token, json!({"ok": true})).unwrap();
        let d = e.wait_for_execution(&arn).await.unwrap();
        assert_eq!(d.status, ExecutionStatus::Succeeded);
        assert_eq!(
            d.output.unwrap(),
            json!({"in": 1, "first": "p", "cb": {"ok": true}})
        );
        // The token had been submitted before the crash: no second invocation.
        assert!(tokens2.lock().unwrap().is_empty());
        // History from before the restart is kept.
        let types = event_types(&e, &arn);
        assert_eq!(types[0], EventType::ExecutionStarted);
        assert!(types.contains(&EventType::PassStateExited));
        assert_eq!(types.last(), Some(&EventType::ExecutionSucceeded));
        // The state machine is known again, and a third engine sees it as finished.
        let sm = "arn:aws:states:local:000000000000:stateMachine:resumable";
        assert_eq!(e.list_executions(sm, None).unwrap().len(), 1);
        let e3 = asl::Engine::builder(asl::EchoHandler.into_arc())
            .store(store.clone())
            .build();
        assert_eq!(e3.resume().unwrap(), 0);
        assert_eq!(
            e3.describe_execution(&arn).unwrap().status,
            ExecutionStatus::Succeeded
        );
    });
}

trait IntoArc {
    fn into_arc(self) -> Arc<dyn asl::TaskHandler>;
}
impl IntoArc for asl::EchoHandler {
    fn into_arc(self) -> Arc<dyn asl::TaskHandler> {
        Arc::new(self)
    }
}

#[test]
fn resume_after_restart_memory_store() {
    restart_scenario(Arc::new(MemoryStore::new()));
}

#[test]
fn resume_after_restart_file_store() {
    let dir = tempfile::tempdir().unwrap();
    restart_scenario(Arc::new(FileStore::new(dir.path()).unwrap()));
    assert!(std::fs::read_dir(dir.path()).unwrap().count() >= 1);
}

#[test]
fn resume_reruns_an_interrupted_plain_task() {
    // A plain task in flight when the engine dies is invoked again.
    let store: Arc<dyn asl::ExecutionStore> = Arc::new(MemoryStore::new());
    let calls = Arc::new(Mutex::new(0));
    let c2 = calls.clone();
    let hang: Arc<dyn asl::TaskHandler> = Arc::new(
        move |_call: asl::TaskCall| -> asl::BoxFuture<'static, Result<Value, TaskError>> {
            *c2.lock().unwrap() += 1;
            Box::pin(std::future::pending())
        },
    );
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}}"#;
    let rt1 = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let arn = rt1.block_on(async {
        let e = asl::Engine::builder(hang).store(store.clone()).build();
        let sm = e.create_state_machine("m", def).unwrap();
        let arn = e.start_execution(&sm, None, json!({"v": 1})).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        arn
    });
    rt1.shutdown_background();
    assert_eq!(*calls.lock().unwrap(), 1);
    let rt2 = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt2.block_on(async {
        let e = asl::Engine::builder(Arc::new(asl::EchoHandler))
            .store(store.clone())
            .build();
        assert_eq!(e.resume().unwrap(), 1);
        let d = e.wait_for_execution(&arn).await.unwrap();
        assert_eq!(d.output.unwrap(), json!({"v": 1}));
    });
}

// ---------------------------------------------------------------- definitions

#[test]
fn definition_errors_are_reported_at_load_with_the_state_name() {
    let cases: Vec<(&str, &str)> = vec![
        (
            r#"{"StartAt":"Nope","States":{"A":{"Type":"Pass","End":true}}}"#,
            "Nope",
        ),
        (r#"{"States":{"A":{"Type":"Pass","End":true}}}"#, "StartAt"),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Gone"}}}"#,
            "State 'A'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Succeed"}}}"#,
            "State 'A'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass"}}}"#,
            "State 'A'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Bogus","End":true}}}"#,
            "State 'A': unknown state type",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}"#,
            "State 'A': missing required field 'Resource'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}"#,
            "State 'A': invalid 'ResultPath'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"nodollar","End":true}}}"#,
            "State 'A': invalid 'InputPath'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Format('a'"},"End":true}}}"#,
            "State 'A': invalid 'Parameters'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope()"},"End":true}}}"#,
            "State 'A'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]}}}"#,
            "State 'A': Retry[0]: 'States.ALL' must appear in the last",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["States.ALL","X"],"Next":"A"}]}}}"#,
            "must appear alone",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["X"],"Next":"Missing"}]}}}"#,
            "State 'A': 'Catch.Next'",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","StringEquals":1,"Next":"A"}]}}}"#,
            "State 'A': Choices[0]",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","StringEqualsPath":"$.y[*]","Next":"A"}]}}}"#,
            "State 'A': Choices[0]",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"A"}],"Default":"Z"}}}"#,
            "'Default' refers",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1,"Timestamp":"2020-01-01T00:00:00Z","End":true}}}"#,
            "State 'A': exactly one",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"Orphan":{"Type":"Succeed"}}}"#,
            "State 'Orphan': state is not reachable",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"}}}]}}}"#,
            "A/Branches[0]/X",
        ),
        (
            r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Task","End":true}}}}}}"#,
            "M/X",
        ),
        (
            r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemReader":{},"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}}}}}"#,
            "ItemReader",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","TimeoutSeconds":5,"HeartbeatSeconds":10,"End":true}}}"#,
            "HeartbeatSeconds",
        ),
        (
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"End":true}}}"#,
            "Assign",
        ),
        ("not json", "not valid JSON"),
    ];
    for (def, expected) in cases {
        let err = asl::parse_definition(def).expect_err(def).to_string();
        assert!(
            err.contains(expected),
            "for {def}\n  got: {err}\n  expected to contain: {expected}"
        );
    }
    // And the engine refuses to register them.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let e = engine(echo());
        assert!(matches!(
            e.create_state_machine("bad", r#"{"StartAt":"A","States":{"A":{"Type":"Pass"}}}"#),
            Err(EngineError::InvalidDefinition(_))
        ));
    });
}

#[test]
fn definition_substitutions() {
    let mut subs = std::collections::HashMap::new();
    subs.insert("Fn".to_string(), "arn:aws:lambda:f".to_string());
    let out = asl::substitute(r#"{"Resource":"${Fn}","Cost":"$5"}"#, &subs).unwrap();
    assert_eq!(out, r#"{"Resource":"arn:aws:lambda:f","Cost":"$5"}"#);
    assert!(matches!(
        asl::substitute("${Missing}", &subs),
        Err(EngineError::UndefinedSubstitution(n)) if n == "Missing"
    ));
}
