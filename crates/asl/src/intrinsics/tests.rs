//! Unit tests of the intrinsic functions.

use super::*;
use serde_json::json;

fn run(src: &str, input: Value) -> Result<Value, StateError> {
    let call = parse(src).map_err(StateError::intrinsic)?;
    evaluate(&call, &input, &json!({"Execution": {"Name": "ex"}}))
}

#[test]
fn parse_errors() {
    assert!(parse("States.Nope(1)").is_err());
    assert!(parse("States.Format('a'").is_err());
    assert!(parse("States.ArrayLength(1, 2)").is_err());
    assert!(parse("States.UUID(1)").is_err());
    assert!(parse("States.Array(1) x").is_err());
}

#[test]
fn format() {
    assert_eq!(
        run(
            "States.Format('Hello, my name is {}.', $.name)",
            json!({"name": "Arnav"})
        )
        .unwrap(),
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        run(
            r"States.Format('{} \{\} it\'s {} {} {}', 1, 2.5, true, null)",
            json!({})
        )
        .unwrap(),
        json!("1 {} it's 2.5 true null")
    );
    assert_eq!(
        run("States.Format('{}', $$.Execution.Name)", json!({})).unwrap(),
        json!("ex")
    );
    assert!(run("States.Format('{} {}', 1)", json!({})).is_err());
    assert!(run("States.Format('{}', $.o)", json!({"o": {}})).is_err());
}

#[test]
fn json_functions() {
    assert_eq!(
        run("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})).unwrap(),
        json!({"a": [1, 2]})
    );
    assert_eq!(
        run(
            "States.JsonToString($.o)",
            json!({"o": {"b": 1, "a": [true, null]}})
        )
        .unwrap(),
        json!("{\"b\":1,\"a\":[true,null]}")
    );
    assert_eq!(
        run(
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": {"x": 1, "n": {"p": 1}}, "b": {"y": 2, "n": {"q": 2}}})
        )
        .unwrap(),
        json!({"x": 1, "n": {"q": 2}, "y": 2})
    );
    assert!(run("States.JsonMerge($.a, $.a, true)", json!({"a": {}})).is_err());
    let e = run("States.StringToJson('{')", json!({})).unwrap_err();
    assert_eq!(e.error, "States.IntrinsicFailure");
}

#[test]
fn arrays() {
    assert_eq!(
        run(
            "States.Array('a', 1, $.x, States.Array())",
            json!({"x": {"k": 1}})
        )
        .unwrap(),
        json!(["a", 1, {"k": 1}, []])
    );
    assert_eq!(
        run(
            "States.ArrayPartition($.a, 4)",
            json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]})
        )
        .unwrap(),
        json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
    );
    assert_eq!(
        run("States.ArrayContains($.a, 3)", json!({"a": [1, 2, 3]})).unwrap(),
        json!(true)
    );
    assert_eq!(
        run("States.ArrayContains($.a, 'x')", json!({"a": [1, 2, 3]})).unwrap(),
        json!(false)
    );
    assert_eq!(
        run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        run("States.ArrayRange(5, 1, -2)", json!({})).unwrap(),
        json!([5, 3, 1])
    );
    assert!(run("States.ArrayRange(1, 2000, 1)", json!({})).is_err());
    assert!(run("States.ArrayRange(1, 2, 0)", json!({})).is_err());
    assert_eq!(
        run("States.ArrayGetItem($.a, 1)", json!({"a": [1, 2, 3]})).unwrap(),
        json!(2)
    );
    assert!(run("States.ArrayGetItem($.a, 5)", json!({"a": [1]})).is_err());
    assert_eq!(
        run("States.ArrayLength($.a)", json!({"a": [1, 2, 3]})).unwrap(),
        json!(3)
    );
    assert_eq!(
        run(
            "States.ArrayUnique($.a)",
            json!({"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]})
        )
        .unwrap(),
        json!([1, 2, 3, 4])
    );
}

#[test]
fn encoding_and_hash() {
    assert_eq!(
        run("States.Base64Encode('Data to encode')", json!({})).unwrap(),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(
        run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})).unwrap(),
        json!("Data to encode")
    );
    assert!(run("States.Base64Decode('***')", json!({})).is_err());
    assert_eq!(
        run("States.Hash('input data', 'SHA-1')", json!({})).unwrap(),
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
    );
    assert_eq!(
        run("States.Hash('abc', 'MD5')", json!({})).unwrap(),
        json!("900150983cd24fb0d6963f7d28e17f72")
    );
    assert_eq!(
        run("States.Hash('abc', 'SHA-256')", json!({})).unwrap(),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    for alg in ["SHA-384", "SHA-512"] {
        let v = run(&format!("States.Hash('abc', '{alg}')"), json!({})).unwrap();
        let len = if alg == "SHA-384" { 96 } else { 128 };
        assert_eq!(v.as_str().unwrap().len(), len);
    }
    assert!(run("States.Hash('abc', 'SHA-3')", json!({})).is_err());
}

#[test]
fn math_string_uuid() {
    assert_eq!(
        run("States.MathAdd(1, 2)", json!({})).unwrap().to_string(),
        "3"
    );
    assert_eq!(
        run("States.MathAdd($.v, -1)", json!({"v": 111})).unwrap(),
        json!(110)
    );
    assert_eq!(
        run("States.MathAdd(1.5, 1)", json!({})).unwrap(),
        json!(2.5)
    );
    for _ in 0..20 {
        let v = run("States.MathRandom(1, 5)", json!({})).unwrap();
        let n = v.as_i64().unwrap();
        assert!((1..5).contains(&n));
    }
    let a = run("States.MathRandom(1, 1000, 7)", json!({})).unwrap();
    let b = run("States.MathRandom(1, 1000, 7)", json!({})).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        run(
            "States.StringSplit($.s, $.d)",
            json!({"s": "This.is+a,test=string", "d": ".+,="})
        )
        .unwrap(),
        json!(["This", "is", "a", "test", "string"])
    );
    assert_eq!(
        run("States.StringSplit('1,2,3', ',')", json!({})).unwrap(),
        json!(["1", "2", "3"])
    );
    let u = run("States.UUID()", json!({})).unwrap();
    assert_eq!(u.as_str().unwrap().len(), 36);
    assert_ne!(u, run("States.UUID()", json!({})).unwrap());
}

#[test]
fn nested_calls_and_paths_with_commas() {
    assert_eq!(
        run(
            "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.arn, '/'), 1), $['a,b'])",
            json!({"arn": "x/y/z", "a,b": "q"})
        )
        .unwrap(),
        json!("y.q")
    );
    let e = run("States.ArrayLength($.missing)", json!({})).unwrap_err();
    assert_eq!(e.error, "States.IntrinsicFailure");
}
