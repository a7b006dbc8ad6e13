//! The limits on tokio's paused clock: each bites at its quota, lets the caller through again
//! once the wait it named is over, keeps others apart, and forgets what it no longer holds.

use super::*;

fn limits(config: LimitsConfig) -> Limits {
    Limits::new(&config, KeyedHasher::new([7; 32]))
}

fn only(adjust: impl FnOnce(&mut LimitsConfig)) -> Limits {
    let mut config = LimitsConfig::off();
    adjust(&mut config);
    limits(config)
}

#[tokio::test(start_paused = true)]
async fn one_msisdn_is_held_back_at_its_quota_and_another_is_not() {
    let limits = only(|c| c.msisdn_steps_per_minute = 3);
    for _ in 0..3 {
        assert_eq!(limits.step("989121234567").await, Ok(()));
    }
    let held = limits
        .step("989121234567")
        .await
        .expect_err("the fourth is held back");
    assert_eq!(held.limit, Limit::MsisdnSteps);
    assert!(held.wait > Duration::ZERO && held.wait <= Duration::from_secs(20));
    assert_eq!(held.minutes(), 1);
    assert_eq!(
        limits.step("989127654321").await,
        Ok(()),
        "another phone is served"
    );
}

#[tokio::test(start_paused = true)]
async fn the_named_wait_is_enough_and_a_little_less_is_not() {
    let limits = only(|c| c.identifier_inquiries_per_hour = 2);
    let ask = || limits.inquiry("989121234567", Some("ir:0012345679"));
    assert!(ask().await.is_ok() && ask().await.is_ok());
    let held = ask().await.expect_err("held back");
    assert_eq!(held.limit, Limit::Identifier);
    assert_eq!(held.minutes(), 30, "one inquiry comes back every half hour");
    tokio::time::advance(held.wait - Duration::from_secs(1)).await;
    assert!(ask().await.is_err(), "a second early");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(ask().await.is_ok(), "on time");
}

#[tokio::test(start_paused = true)]
async fn an_identifier_is_counted_across_phones_and_a_phone_across_identifiers() {
    let limits = only(|c| c.identifier_inquiries_per_hour = 3);
    for phone in ["989120000001", "989120000002", "989120000003"] {
        assert!(limits.inquiry(phone, Some("ir:0012345679")).await.is_ok());
    }
    let held = limits.inquiry("989120000004", Some("ir:0012345679")).await;
    assert_eq!(held.map_err(|l| l.limit), Err(Limit::Identifier));
    assert!(limits
        .inquiry("989120000004", Some("ir:0087654326"))
        .await
        .is_ok());

    let limits = only(|c| c.msisdn_inquiries_per_hour = 2);
    let walk = |code: &'static str| limits.inquiry("989120000001", Some(code));
    assert!(walk("ir:0000000001").await.is_ok() && walk("ir:0000000002").await.is_ok());
    let held = walk("ir:0000000003")
        .await
        .expect_err("a walk is held back");
    assert_eq!(held.limit, Limit::MsisdnInquiries);
    assert!(
        limits.inquiry("989120000001", None).await.is_err(),
        "own record counts too"
    );
}

#[tokio::test(start_paused = true)]
async fn a_source_address_is_held_to_its_rate_in_seconds() {
    let limits = only(|c| c.source_requests_per_second = 2);
    let aggregator: IpAddr = "196.201.214.9".parse().unwrap();
    let mapped: IpAddr = "::ffff:196.201.214.9".parse().unwrap();
    assert!(limits.request(aggregator).is_ok() && limits.request(mapped).is_ok());
    let held = limits
        .request(aggregator)
        .expect_err("the third this second");
    assert_eq!((held.limit, held.seconds()), (Limit::SourceRequests, 1));
    assert!(limits.request("10.0.0.1".parse().unwrap()).is_ok());
}

#[tokio::test(start_paused = true)]
async fn zero_is_off() {
    let limits = limits(LimitsConfig::off());
    for _ in 0..1_000 {
        assert!(limits.step("989121234567").await.is_ok());
        assert!(limits
            .inquiry("989121234567", Some("ir:0012345679"))
            .await
            .is_ok());
        assert!(limits.request("10.0.0.1".parse().unwrap()).is_ok());
    }
    assert_eq!(limits.keys(), 0, "nothing is kept for a limit that is off");
}

#[tokio::test(start_paused = true)]
async fn forgetting_keeps_only_the_callers_still_held_back() {
    let limits = only(|c| c.msisdn_steps_per_minute = 60);
    for n in 0..1_000 {
        assert!(limits.step(&format!("98912{n:07}")).await.is_ok());
    }
    for _ in 0..60 {
        let _ = limits.step("989121234567").await;
    }
    assert_eq!(limits.keys(), 1_001);
    tokio::time::advance(Duration::from_secs(2)).await;
    limits.forget();
    assert_eq!(
        limits.keys(),
        1,
        "only the caller who used the whole burst is kept"
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    limits.forget();
    assert_eq!(limits.keys(), 0);
}

#[tokio::test(start_paused = true)]
async fn every_limit_that_bites_is_counted_by_its_name_alone() {
    let limits = only(|c| {
        c.msisdn_steps_per_minute = 1;
        c.identifier_inquiries_per_hour = 1;
    });
    let _ = limits.step("989121234567").await;
    let _ = limits.step("989121234567").await;
    let _ = limits.inquiry("989121234567", Some("ir:0012345679")).await;
    let _ = limits.inquiry("989121234567", Some("ir:0012345679")).await;
    limits.count(Limit::SourceConnections);
    assert_eq!(limits.counter(Limit::MsisdnSteps).get(), 1);
    assert_eq!(limits.counter(Limit::Identifier).get(), 1);
    assert_eq!(limits.counter(Limit::SourceConnections).get(), 1);
    assert_eq!(limits.counter(Limit::MsisdnInquiries).get(), 0);
}

#[test]
fn a_wait_is_told_in_whole_minutes_rounded_up() {
    let told = |secs: u64| {
        Limited {
            limit: Limit::MsisdnSteps,
            wait: Duration::from_secs(secs),
        }
        .minutes()
    };
    assert_eq!(
        [told(0), told(1), told(60), told(61), told(1_799)],
        [1, 1, 1, 2, 30]
    );
}

#[tokio::test(start_paused = true)]
async fn with_providers_only_the_general_inquiry_is_theirs_alone() {
    let limits = only(|c| {
        c.providers_only = true;
        c.providers = vec!["989121234567".into()];
    });
    assert_eq!(limits.provider("989121234567"), Ok(()));
    let held = limits.provider("989127654321").expect_err("not a provider");
    assert_eq!(held.limit, Limit::ProvidersOnly);
    assert_eq!(limits.counter(Limit::ProvidersOnly).get(), 1);
    let open = only(|c| c.providers = vec!["989121234567".into()]);
    assert_eq!(
        open.provider("989127654321"),
        Ok(()),
        "off unless providers_only"
    );
}

/// Redis does not answer (nothing listens on the port): each check falls back to the node's
/// own limiter, which still holds the caller to the node's quota, neither refusing everyone
/// nor letting anyone through.
#[tokio::test]
async fn with_the_shared_redis_down_the_node_holds_callers_to_its_own_limits() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let url = format!("redis://{closed}/0");
    let limits = only(|c| {
        c.msisdn_steps_per_minute = 3;
        c.identifier_inquiries_per_hour = 1;
    })
    .shared_in(&url, Duration::from_millis(200))
    .expect("a lazy connection");
    for _ in 0..3 {
        assert_eq!(limits.step("989121234567").await, Ok(()));
    }
    let held = limits.step("989121234567").await.expect_err("the fourth");
    assert_eq!(held.limit, Limit::MsisdnSteps);
    assert_eq!(limits.step("989127654321").await, Ok(()), "another phone");
    assert!(limits.inquiry("989127654321", Some("ir:1")).await.is_ok());
    let held = limits.inquiry("989121234567", Some("ir:1")).await;
    assert_eq!(held.map_err(|l| l.limit), Err(Limit::Identifier));
    assert_eq!(limits.counter(Limit::MsisdnSteps).get(), 1);
}
