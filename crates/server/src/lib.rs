//! The akiles-hr-sync service: the push API, the management API, in-process workers,
//! health checks and metrics, on one axum server.
//!
//! Start it with [`serve`] on a bound listener and an [`AppState`]; [`router`] gives the
//! routes alone (for in-process tests). The admin pages plug in through [`admin::router`].
//! Settings are described in [`settings`] and `docs/configuration.md`; the APIs in
//! `openapi.yaml`, served at `/api/openapi.yaml`.

pub mod admin;
pub mod connections;
pub mod delivery;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod reconcile;
pub mod request_log;
pub mod routes;
pub mod scheduler;
pub mod settings;
pub mod signature;
pub mod state;
pub mod tenant_settings;
pub mod worker;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode, header};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::timeout::TimeoutLayer;

pub use connections::{RefreshingTokens, StoredAccessTokens, TokenSourceFactory, token_sources};
pub use error::ApiError;
pub use settings::{Settings, SettingsSources};
pub use state::AppState;

/// Declares a group of routes once: the router and the `(METHOD, path)` list that the
/// OpenAPI test compares with `openapi.yaml`.
macro_rules! route_table {
    ($list:ident, $builder:ident: $($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every `(METHOD, path)` of this group.
        pub const $list: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn $builder() -> Router<AppState> {
            Router::new()$(.route($path, axum::routing::$method($handler)))*
        }
    };
}

route_table!(OPERATIONS_ROUTES, operations_router:
    get "/healthz" => routes::health::healthz,
    get "/readyz" => routes::health::readyz,
    get "/metrics" => routes::health::metrics,
    get "/api/openapi.yaml" => routes::openapi::openapi,
);

route_table!(PUSH_ROUTES, push_router:
    put "/api/v1/employees/{employee_id}" => routes::push::employees::put_employee,
    delete "/api/v1/employees/{employee_id}" => routes::push::employees::delete_employee,
    get "/api/v1/employees/{employee_id}" => routes::push::employees::get_employee,
    post "/api/v1/snapshot" => routes::push::snapshot::post_snapshot,
);

route_table!(MANAGE_ROUTES, manage_router:
    get "/api/v1/manage/tenants" => routes::manage::tenants::list,
    post "/api/v1/manage/tenants" => routes::manage::tenants::create,
    get "/api/v1/manage/tenants/{tenant}" => routes::manage::tenants::get,
    delete "/api/v1/manage/tenants/{tenant}" => routes::manage::tenants::delete,
    get "/api/v1/manage/tenants/{tenant}/settings" => routes::manage::settings::get,
    put "/api/v1/manage/tenants/{tenant}/settings" => routes::manage::settings::put,
    get "/api/v1/manage/tenants/{tenant}/connection" => routes::manage::settings::connection,
    get "/api/v1/manage/tenants/{tenant}/api-keys" => routes::manage::keys::list,
    post "/api/v1/manage/tenants/{tenant}/api-keys" => routes::manage::keys::create,
    delete "/api/v1/manage/tenants/{tenant}/api-keys/{key_id}" => routes::manage::keys::revoke,
    put "/api/v1/manage/tenants/{tenant}/signing-secret" => routes::manage::keys::set_signing_secret,
    delete "/api/v1/manage/tenants/{tenant}/signing-secret" => routes::manage::keys::clear_signing_secret,
    get "/api/v1/manage/tenants/{tenant}/jobs" => routes::manage::jobs::list,
    post "/api/v1/manage/tenants/{tenant}/jobs/{job_id}/retry" => routes::manage::jobs::retry,
    post "/api/v1/manage/tenants/{tenant}/sync" => routes::manage::reconcile::reconcile,
    post "/api/v1/manage/tenants/{tenant}/reconcile" => routes::manage::reconcile::reconcile,
    post "/api/v1/manage/tenants/{tenant}/preview" => routes::manage::reconcile::preview,
    get "/api/v1/manage/tenants/{tenant}/held-deletions" => routes::manage::held::list,
    post "/api/v1/manage/tenants/{tenant}/held-deletions/approve" => routes::manage::held::approve,
    post "/api/v1/manage/tenants/{tenant}/held-deletions/reject" => routes::manage::held::reject,
    put "/api/v1/manage/tenants/{tenant}/smtp-password" => routes::manage::delivery::set_smtp_password,
    delete "/api/v1/manage/tenants/{tenant}/smtp-password" => routes::manage::delivery::clear_smtp_password,
    get "/api/v1/manage/tenants/{tenant}/deliveries" => routes::manage::delivery::list,
    post "/api/v1/manage/tenants/{tenant}/deliveries/{delivery_id}/retry" => routes::manage::delivery::retry,
);

/// Every route of the service: operations, push API, management API and admin pages,
/// with the request id, timeout, body limit, sensitive-header and request-log layers.
pub fn router(state: AppState) -> Router {
    let manage = manage_router().route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        routes::manage::require_management_token,
    ));
    let api = operations_router()
        .merge(push_router())
        .merge(manage)
        .merge(admin::router(state.clone()))
        .fallback(not_found);

    let request_id = HeaderName::from_static(request_log::REQUEST_ID_HEADER);
    let layers = ServiceBuilder::new()
        .layer(SetSensitiveHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
        ]))
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(axum::middleware::from_fn(request_log::log_request))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.settings.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(
            state.settings.push.max_body_bytes,
        ));
    api.layer(layers).with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

/// How long shutdown waits for running jobs after the HTTP server stopped.
const WORKER_GRACE: Duration = Duration::from_secs(60);

/// Serves HTTP on `listener` and runs the workers until `shutdown` resolves; then stops
/// accepting requests, lets the workers finish their current job, and returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop, stopping) = watch::channel(false);
    reconcile::record_all_held_deletions(&state).await;
    let workers = worker::spawn_pool(state.clone(), stopping.clone());
    let scheduler = scheduler::spawn_scheduler(state.clone(), stopping.clone());
    let deliveries = delivery::spawn_delivery_loop(state.clone(), stopping.clone());

    let app = router(state);
    let mut http_stopping = stopping.clone();
    let http = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = http_stopping.wait_for(|stop| *stop).await;
    });
    let mut http = tokio::spawn(async move { http.await });

    let served = tokio::select! {
        () = shutdown => {
            tracing::info!("Shutting down: no new requests or jobs; finishing running jobs");
            let _ = stop.send(true);
            http.await
        }
        served = &mut http => {
            tracing::error!("The HTTP server stopped on its own; stopping the workers");
            let _ = stop.send(true);
            served
        }
    };
    if let Err(e) = scheduler.await {
        tracing::error!(error = %e, "The reconcile scheduler panicked");
    }
    match tokio::time::timeout(WORKER_GRACE, deliveries).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "The delivery loop panicked"),
        Err(_) => tracing::warn!("The delivery loop still sending after the grace period"),
    }
    match tokio::time::timeout(WORKER_GRACE, workers.wait()).await {
        Ok(()) => tracing::info!("Workers stopped"),
        Err(_) => tracing::warn!("Workers still running after the grace period; leaving them"),
    }
    match served {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow::Error::new(e).context("the HTTP server failed")),
        Err(e) => Err(anyhow::Error::new(e).context("the HTTP server task panicked")),
    }
}
