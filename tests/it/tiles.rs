//! Vector tiles: a z8 tile over Manas decodes (the protobuf by prost, the
//! geometry commands by hand here) to the features and attributes the GeoJSON
//! layer has in the tile's buffered bounds; validators give 304 until a write in
//! the tile; TileJSON; bad addresses.

use crate::common::{self, get_json};
use diming::domain::Role;
use geozero::mvt::{Message, Tile};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const HALF: f64 = 20_037_508.342_789_244;

/// The tile's `[left, bottom, right, top]`, Web Mercator metres, grown by 64/4096.
fn buffered(z: u32, x: u32, y: u32) -> [f64; 4] {
    let size = 2.0 * HALF / f64::from(1u32 << z);
    let (l, t) = (-HALF + f64::from(x) * size, HALF - f64::from(y) * size);
    let pad = size * 64.0 / 4096.0;
    [l - pad, t - size - pad, l + size + pad, t + pad]
}

fn merc(lon: f64, lat: f64) -> (f64, f64) {
    (
        lon * HALF / 180.0,
        (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln() * HALF / std::f64::consts::PI,
    )
}

fn zigzag(v: u32) -> i64 {
    (i64::from(v >> 1)) ^ -(i64::from(v & 1))
}

/// Each point feature's position in tile units and its tags.
fn decode_points(layer: &geozero::mvt::tile::Layer) -> Vec<((i64, i64), BTreeMap<String, Value>)> {
    let mut out = Vec::new();
    for f in &layer.features {
        let g = &f.geometry;
        assert_eq!(g.first().map(|c| c & 7), Some(1), "MoveTo");
        assert_eq!(g.first().map(|c| c >> 3), Some(1), "one point");
        let (x, y) = (zigzag(g[1]), zigzag(g[2]));
        let mut tags = BTreeMap::new();
        for kv in f.tags.chunks(2) {
            let key = layer.keys[kv[0] as usize].clone();
            let v = &layer.values[kv[1] as usize];
            let value = if let Some(s) = &v.string_value {
                json!(s)
            } else if let Some(i) = v.sint_value {
                json!(i)
            } else if let Some(i) = v.int_value {
                json!(i)
            } else if let Some(b) = v.bool_value {
                json!(b)
            } else {
                json!(v.double_value)
            };
            tags.insert(key, value);
        }
        out.push(((x, y), tags));
    }
    out
}

#[tokio::test]
async fn a_z8_tile_over_manas_holds_what_the_geojson_layer_has_there() {
    let app = common::start_in_process().await;
    let base = &app.base;
    let (z, x, y) = (8u32, 189u32, 92u32);
    let get = |u: String| async move { reqwest::get(u).await.expect("tile") };
    let res = get(format!("{base}/tiles/facilities/{z}/{x}/{y}.mvt")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/vnd.mapbox-vector-tile");
    let etag = res.headers()["etag"].to_str().expect("etag").to_string();
    let tile = Tile::decode(res.bytes().await.expect("bytes")).expect("a vector tile");
    assert_eq!(tile.layers.len(), 1);
    let layer = &tile.layers[0];
    assert_eq!((layer.name.as_str(), layer.extent, layer.version), ("facilities", Some(4096), 2));
    let decoded = decode_points(layer);

    let [l, b, r, t] = buffered(z, x, y);
    let (_, _, all) = get_json(&format!("{base}/api/v1/facilities?limit=10000&status=open,planned,closed")).await;
    let size = (r - l) / (4096.0 + 128.0);
    let mut want = BTreeMap::new();
    for f in all["features"].as_array().expect("features") {
        let c = &f["geometry"]["coordinates"];
        let (mx, my) = merc(c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
        if mx >= l && mx <= r && my >= b && my <= t {
            // Tile units from the tile's own corner (the buffer is 64 units).
            let px = ((mx - l) / size - 64.0).round() as i64;
            let py = ((t - my) / size - 64.0).round() as i64;
            want.insert(f["id"].as_str().expect("id").to_string(), ((px, py), f["properties"].clone()));
        }
    }
    assert!(want.len() > 50, "most of Manas's facilities lie in this tile: {}", want.len());
    assert_eq!(decoded.len(), want.len());
    for ((px, py), tags) in &decoded {
        let id = tags["id"].as_str().expect("id");
        let ((wx, wy), props) = &want[id];
        assert!((px - wx).abs() <= 1 && (py - wy).abs() <= 1, "{id}: ({px}, {py}) vs ({wx}, {wy})");
        for k in ["name", "kind", "status", "township_code", "provenance"] {
            assert_eq!(tags[k], props[k], "{id}.{k}");
        }
        assert_eq!(tags.get("capacity_beds").cloned().unwrap_or(Value::Null), props["capacity_beds"], "{id}");
    }

    // The divisions' tile: every county and township meeting the tile, cut and simplified.
    let res = get(format!("{base}/tiles/divisions/{z}/{x}/{y}.mvt")).await;
    assert_eq!(res.status(), 200);
    let div = Tile::decode(res.bytes().await.expect("bytes")).expect("tile");
    let codes: Vec<String> = div.layers[0]
        .features
        .iter()
        .map(|f| {
            let l = &div.layers[0];
            let i = f.tags.chunks(2).find(|kv| l.keys[kv[0] as usize] == "code").expect("code")[1];
            l.values[i as usize].string_value.clone().expect("string")
        })
        .collect();
    assert!(codes.contains(&"652324".to_string()), "{codes:?}");
    assert!(div.layers[0].features.iter().all(|f| f.r#type == Some(3)), "polygons");
    // The township under the tile's centre is in it (locate says which).
    let (cx, cy) = ((l + r) / 2.0, (b + t) / 2.0);
    let lon = cx / HALF * 180.0;
    let lat = (2.0 * (cy / HALF * std::f64::consts::PI).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    let (_, _, located) = get_json(&format!("{base}/api/v1/locate?lon={lon}&lat={lat}")).await;
    for d in located["divisions"].as_array().expect("divisions") {
        if matches!(d["level"].as_str(), Some("county" | "township")) {
            assert!(codes.contains(&d["code"].as_str().expect("code").to_string()), "{d} in {codes:?}");
        }
    }

    // 304 until a write in the tile, then the new facility is in it.
    let client = reqwest::Client::new();
    let url = format!("{base}/tiles/facilities/{z}/{x}/{y}.mvt");
    let again = client.get(&url).header("if-none-match", &etag).send().await.expect("tile");
    assert_eq!(again.status(), 304);
    let editor = common::api_token(app.state.store(), "tiles_editor", Role::Editor).await;
    let (s, _, _) = {
        let r = client
            .post(format!("{base}/api/v1/facilities"))
            .bearer_auth(&editor)
            .json(&json!({"name": "瓦片测试敬老院", "kind": "care_home", "lon": 86.23, "lat": 44.3}))
            .send()
            .await
            .expect("write");
        (r.status(), (), ())
    };
    assert_eq!(s, 201);
    let after = client.get(&url).header("if-none-match", &etag).send().await.expect("tile");
    assert_eq!(after.status(), 200);
    let tile = Tile::decode(after.bytes().await.expect("bytes")).expect("tile");
    let names: Vec<Value> = decode_points(&tile.layers[0]).into_iter().map(|(_, t)| t["name"].clone()).collect();
    assert!(names.contains(&json!("瓦片测试敬老院")));
}

#[tokio::test]
async fn tilejson_and_bad_tile_addresses() {
    let app = common::start_in_process().await;
    let base = &app.base;
    let (s, _, tj) = get_json(&format!("{base}/tiles/facilities.json")).await;
    assert_eq!(s, 200);
    assert_eq!(tj["tilejson"], "3.0.0");
    assert!(tj["tiles"][0].as_str().is_some_and(|t| t.ends_with("/tiles/facilities/{z}/{x}/{y}.mvt")), "{tj}");
    assert_eq!(tj["minzoom"], 7);
    assert_eq!(tj["vector_layers"][0]["id"], "facilities");
    let b = tj["bounds"].as_array().expect("bounds");
    assert!(b[0].as_f64().expect("w") < 86.0 && b[2].as_f64().expect("e") > 86.0, "{tj}");
    for (path, want) in [
        ("/tiles/castles.json", 404),
        ("/tiles/castles/8/189/92.mvt", 404),
        ("/tiles/facilities/23/0/0.mvt", 422),
        ("/tiles/facilities/8/256/92.mvt", 422),
        ("/tiles/facilities/8/189/92", 400),
        ("/tiles/facilities/8/189/92.png", 400),
        ("/tiles/facilities/8/-1/92.mvt", 400),
        ("/tiles/facilities/8/189/99999999999999999999.mvt", 400),
        ("/tiles/facilities/3/5/3.mvt", 422),
        ("/tiles/facilities/8/0/0.mvt", 204),
    ] {
        let res = reqwest::get(format!("{base}{path}")).await.expect("get");
        assert_eq!(res.status().as_u16(), want, "{path}");
    }
}

/// Each feature's string and number tags (no geometry), by its `code` or `id`.
fn tags_by(layer: &geozero::mvt::tile::Layer, key: &str) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for f in &layer.features {
        let mut tags = BTreeMap::new();
        for kv in f.tags.chunks(2) {
            let v = &layer.values[kv[1] as usize];
            let value = match (&v.string_value, v.sint_value, v.bool_value, v.double_value) {
                (Some(s), _, _, _) => json!(s),
                (_, Some(i), _, _) => json!(i),
                (_, _, Some(b), _) => json!(b),
                (_, _, _, Some(d)) => json!(d),
                _ => Value::Null,
            };
            tags.insert(layer.keys[kv[0] as usize].clone(), value);
        }
        let k = tags[key].as_str().expect("key").to_string();
        assert!(out.insert(k.clone(), tags).is_none(), "{k} twice");
    }
    out
}

/// The point features of a GeoJSON answer inside a tile's buffered Web Mercator box.
fn in_tile(answer: &Value, [l, b, r, t]: [f64; 4]) -> impl Iterator<Item = &Value> {
    answer["features"].as_array().expect("features").iter().filter(move |f| {
        let c = &f["geometry"]["coordinates"];
        let (mx, my) = merc(c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
        mx >= l && mx <= r && my >= b && my <= t
    })
}

async fn tile(url: &str) -> (u16, Option<Tile>) {
    let res = reqwest::get(url).await.expect("tile");
    let status = res.status().as_u16();
    let bytes = res.bytes().await.expect("bytes");
    (status, (status == 200).then(|| Tile::decode(bytes).expect("a vector tile")))
}

#[tokio::test]
async fn coverage_tiles_carry_the_coverage_answer_and_facility_tiles_filter_by_kind() {
    let app = common::start_in_process().await;
    let base = &app.base;
    let (_, _, cov) = get_json(&format!("{base}/api/v1/coverage?kind=care_home")).await;

    // From zoom 8, townships, each with its row of the coverage answer.
    let (s, t) = tile(&format!("{base}/tiles/coverage/8/189/92.mvt?kind=care_home")).await;
    assert_eq!(s, 200);
    let t = t.expect("tile");
    assert_eq!(t.layers[0].name, "coverage");
    let towns = tags_by(&t.layers[0], "code");
    let rows = cov["townships"].as_array().expect("townships");
    let mut seen = 0;
    for row in rows {
        let code = row["code"].as_str().expect("code");
        let Some(tags) = towns.get(code) else { continue };
        seen += 1;
        assert_eq!(tags["level"], "township");
        assert_eq!(tags["kind"], "care_home");
        // Manas's townships and populations are synthesised: the tile says so.
        assert_eq!(tags["synthetic_data"], cov["synthetic_data"], "{code}");
        assert_eq!(tags["synthetic_data"], true, "{code}");
        assert!(tags["geometry_provenance"].is_string() && tags["provenance"].is_string(), "{code}");
        for k in ["coverage_ratio", "target"] {
            assert!((tags[k].as_f64().expect(k) - row[k].as_f64().expect(k)).abs() < 1e-12, "{code}.{k}");
        }
        for k in
            ["meets_target", "population", "population_covered", "settlements", "settlements_covered", "facilities"]
        {
            assert_eq!(tags[k], row[k], "{code}.{k}");
        }
    }
    assert!(seen >= 10 && towns.keys().all(|c| c.len() == 9), "{seen} of {}: {:?}", rows.len(), towns.keys());
    // Below zoom 8, the county with its row.
    let (s, t) = tile(&format!("{base}/tiles/coverage/7/94/46.mvt?kind=care_home&radius_m=3000")).await;
    assert_eq!(s, 200);
    let counties = tags_by(&t.expect("tile").layers[0], "code");
    let (_, _, cov3) = get_json(&format!("{base}/api/v1/coverage?kind=care_home&radius_m=3000")).await;
    let manas = &counties["652324"];
    assert_eq!(manas["level"], "county");
    assert!(
        (manas["coverage_ratio"].as_f64().expect("ratio") - cov3["counties"][0]["coverage_ratio"].as_f64().expect("r"))
            .abs()
            < 1e-12
    );
    assert_eq!(manas["townships_meeting_target"], cov3["counties"][0]["townships_meeting_target"]);
    assert!(counties.keys().all(|c| c.len() == 6), "{counties:?}");
    // The divisions layer below zoom 8 holds counties only; from 8, townships too.
    let (_, t) = tile(&format!("{base}/tiles/divisions/7/94/46.mvt")).await;
    assert!(tags_by(&t.expect("tile").layers[0], "code").keys().all(|c| c.len() == 6));

    // Facilities of one kind, and only open and planned ones.
    let (_, _, all) =
        get_json(&format!("{base}/api/v1/facilities?limit=10000&kind=community_service&status=open")).await;
    let box_ = buffered(8, 189, 92);
    let want: Vec<&str> = in_tile(&all, box_).map(|f| f["id"].as_str().expect("id")).collect();
    let (_, t) = tile(&format!("{base}/tiles/facilities/8/189/92.mvt?kind=community_service&status=open")).await;
    let got = tags_by(&t.expect("tile").layers[0], "id");
    assert!(!want.is_empty());
    assert_eq!(got.keys().map(String::as_str).collect::<Vec<_>>(), want);
    assert!(got.values().all(|t| t["kind"] == "community_service" && t["status"] == "open"));

    // Settlements from the point index: every settlement of the listing in the buffered tile.
    let (_, _, sett) = get_json(&format!("{base}/api/v1/settlements?limit=10000")).await;
    let mut want: Vec<String> =
        in_tile(&sett, box_).map(|f| f["properties"]["code"].as_str().expect("code").to_string()).collect();
    want.sort();
    let (_, t) = tile(&format!("{base}/tiles/settlements/8/189/92.mvt")).await;
    let got = tags_by(&t.expect("tile").layers[0], "code");
    assert!(want.len() > 50);
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), want);
    assert!(got.values().all(|t| t["population_provenance"].is_string() || !t.contains_key("population")), "{got:?}");
}

#[tokio::test]
async fn tile_parameters_and_addresses_that_attackers_and_careless_clients_send() {
    let app = common::start_in_process().await;
    let base = &app.base;
    for (path, want) in [
        // A parameter the layer does not take, or none at all where one is required.
        ("/tiles/divisions/8/189/92.mvt?kind=care_home", 422),
        ("/tiles/facilities/8/189/92.mvt?radius_m=1000", 422),
        ("/tiles/coverage/8/189/92.mvt", 422),
        ("/tiles/coverage/8/189/92.mvt?rule=no-such-rule", 400),
        // Malformed values and unknown parameters.
        ("/tiles/facilities/8/189/92.mvt?kind=castle", 400),
        ("/tiles/facilities/8/189/92.mvt?kind=", 400),
        ("/tiles/facilities/8/189/92.mvt?kind=care_home&kind=cemetery", 400),
        ("/tiles/facilities/8/189/92.mvt?status=gone", 400),
        ("/tiles/coverage/8/189/92.mvt?kind=care_home&radius_m=-5", 400),
        ("/tiles/coverage/8/189/92.mvt?kind=care_home&radius_m=NaN", 400),
        ("/tiles/coverage/8/189/92.mvt?kind=care_home&include_xpcc=maybe", 400),
        ("/tiles/coverage/8/189/92.mvt?kind=care_home&county=652324", 400),
        ("/tiles/settlements/8/189/92.mvt?%3Cscript%3E=1", 400),
        // Multibyte, markup and control characters in the path.
        ("/tiles/%E6%95%AC%E8%80%81%E9%99%A2/8/189/92.mvt", 404),
        ("/tiles/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/8/189/92.mvt", 404),
        ("/tiles/%3Cscript%3E.json", 404),
        ("/tiles/facilities/%EF%BC%98/189/92.mvt", 400),
        ("/tiles/facilities/8/189/%E4%B9%9D%E4%BA%8C.mvt", 400),
        ("/tiles/facilities/8/189/92.mvt%00", 400),
        ("/tiles/facilities/8/189/92%0A.mvt", 400),
        ("/tiles/facilities/255/0/0.mvt", 422),
        ("/tiles/facilities/8/4294967296/92.mvt", 400),
        ("/tiles/coverage/2/2/1.mvt?kind=care_home", 422),
        ("/tiles/coverage/3/5/2.mvt?kind=care_home", 200),
        ("/tiles/coverage.json", 422),
        ("/tiles/coverage.json?kind=care_home&radius_m=3000", 200),
        ("/tiles/divisions.json?kind=care_home", 422),
        ("/tiles/facilities.json?kind=%3Cb%3E", 400),
    ] {
        let res = reqwest::get(format!("{base}{path}")).await.expect("get");
        let status = res.status().as_u16();
        let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_string()).unwrap_or_default();
        let body = res.text().await.expect("body");
        assert_eq!(status, want, "{path}: {body}");
        if status >= 400 {
            assert_eq!(ct, "application/problem+json", "{path}");
            let p: Value = serde_json::from_str(&body).expect("problem JSON");
            assert_eq!(p["status"], want, "{path}");
            // A path segment is not echoed (a parameter's name is, as a JSON string).
            if status == 404 {
                assert!(!body.contains("<img") && !body.contains("<script"), "{path} echoes its segment: {body}");
            }
        }
    }
    // A coverage map's TileJSON names its question in the tiles' URL.
    let (_, _, tj) = get_json(&format!("{base}/tiles/coverage.json?kind=care_home")).await;
    assert!(
        tj["tiles"][0].as_str().is_some_and(|t| t.ends_with("/tiles/coverage/{z}/{x}/{y}.mvt?kind=care_home")),
        "{tj}"
    );
    assert_eq!(tj["minzoom"], 3);
    // The server still answers.
    let (s, _, _) = get_json(&format!("{base}/health")).await;
    assert_eq!(s, 200);
}
