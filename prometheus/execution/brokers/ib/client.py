"""The narrow ib_async client: load it lazily, open a connection (326 at once), run its loop, build requests."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from types import ModuleType
from typing import TYPE_CHECKING, Any

from prometheus.core.errors import BrokerError
from prometheus.execution.brokers.ib.config import IbConfig
from prometheus.execution.brokers.ib.mapping import (
    CLIENT_ID_SETTING,
    IbClientIdInUse,
    IbConnectionError,
    IbOrderFields,
    mask_account,
)
from prometheus.execution.brokers.ib.reconcile import IbState
from prometheus.execution.types import Position

if TYPE_CHECKING:
    import ib_async

#: IB error: the client id is in use by another API client.
CLIENT_ID_IN_USE = 326
#: Loggers of ib_async that print orders, executions and account values (with account ids) at INFO / ERROR.
IB_ASYNC_LOGGERS = ("ib_async.client", "ib_async.Decoder", "ib_async.ib", "ib_async.wrapper")
#: What IB account ids look like: individual (U), paper (DU, DF), advisor / broker master (F, I) + digits.
_ACCOUNT_ID = re.compile(r"\b(?:DU|DF|U|F|I)\d{4,}\b")


class AccountMaskFilter(logging.Filter):
    """Masks IB account ids in log records (ib_async logs whole orders, which carry the account)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = _ACCOUNT_ID.sub(lambda m: mask_account(m.group(0)), text)
        if masked != text:
            record.msg, record.args = masked, ()
        return True


_MASK = AccountMaskFilter()


def install_log_masking() -> None:
    """Attach the account mask to ib_async's loggers (once)."""
    # A filter on a parent logger does not see its children's records, so each logger gets it.
    for name in IB_ASYNC_LOGGERS:
        logger = logging.getLogger(name)
        if _MASK not in logger.filters:
            logger.addFilter(_MASK)


def load_ib_async() -> ModuleType:
    """The ``ib_async`` module."""
    # Imported on first use, not with this module: ib_async (eventkit, its numpy import) takes ~0.8 s, and
    # BACKTEST never needs it.
    import ib_async

    return ib_async


def run_loop(seconds: float) -> None:
    """Run ib_async's event loop for ``seconds`` (0: handle what has arrived)."""
    # A dropped socket makes ib_async raise ConnectionError out of the loop; the broker learns of the drop from
    # the disconnect callback instead.
    with suppress(ConnectionError):
        load_ib_async().util.sleep(seconds)


def open_connection(config: IbConfig, wire: Callable[[ib_async.IB], None]) -> ib_async.IB:
    """A connected ``IB`` client, synchronised (positions, open orders of every client id, account values,
    executions); ``wire`` subscribes the callbacks before the first message.

    Raises
    ------
    IbClientIdInUse
        IB error 326.
    IbConnectionError
        Nothing listens at host:port, or the handshake did not complete within the timeout.
    """
    lib = load_ib_async()
    install_log_masking()
    ib = lib.IB()
    ib.RequestTimeout = config.request_timeout_s
    wire(ib)
    # Not util.run: it cancels its task when *any* ib_async connection in the process drops (a global error
    # event), and a connect must not fail because an older, dead connection is being cleaned up.
    lib.util.getLoop().run_until_complete(_connect(ib, config))
    return ib


async def _connect(ib: ib_async.IB, cfg: IbConfig) -> None:
    clash: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_error(req_id: int, code: int, text: str, contract: object) -> None:
        if code == CLIENT_ID_IN_USE and not clash.done():
            clash.set_result(text)

    ib.errorEvent += on_error
    connecting = asyncio.ensure_future(
        ib.connectAsync(cfg.host, cfg.port, cfg.client_id, timeout=cfg.connect_timeout_s, account=cfg.account or "")
    )
    try:
        # TWS answers a client-id clash with error 326 and closes the socket; ib_async would then wait for the
        # whole timeout, so the error ends the wait at once.
        done, _ = await asyncio.wait(
            {connecting, clash}, timeout=cfg.connect_timeout_s * 4, return_when=asyncio.FIRST_COMPLETED
        )
        if clash in done:
            raise IbClientIdInUse(
                f"IB error 326 at {cfg.host}:{cfg.port}: client id {cfg.client_id} is already in use by another "
                f"API client; stop it or choose another {CLIENT_ID_SETTING}"
            )
        if connecting not in done:
            raise TimeoutError
        connecting.result()
        # Open orders of every API client and TWS too, so that a ref sent under another client id is seen.
        await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), cfg.request_timeout_s)
    except (OSError, TimeoutError) as exc:
        ib.disconnect()
        raise IbConnectionError(
            f"cannot connect to IB at {cfg.host}:{cfg.port} (PROMETHEUS_IB_HOST / PROMETHEUS_IB_PORT): {exc!r}; "
            "is IB Gateway or TWS running with the API enabled on that port?"
        ) from None
    finally:
        ib.errorEvent -= on_error
        if not connecting.done():
            connecting.cancel()
            with suppress(BaseException):
                await connecting


def fetch_state(ib: ib_async.IB, account: str, timeout: float) -> IbState:
    """IB's open orders (every client id), completed orders, executions and the account's positions, fresh.

    Raises
    ------
    BrokerError
        IB did not answer a request within ``timeout`` seconds, or the connection dropped meanwhile.
    """

    async def ask(what: str, request: Awaitable[Any]) -> Any:
        try:
            return await asyncio.wait_for(request, timeout)
        except TimeoutError:
            raise BrokerError(f"IB did not answer {what} within {timeout:g}s; reconciliation incomplete") from None

    async def fetch() -> IbState:
        open_trades = await ask("reqAllOpenOrders", ib.reqAllOpenOrdersAsync())
        completed = await ask("reqCompletedOrders", ib.reqCompletedOrdersAsync(False))
        # After the orders, so that ib_async attaches each execution to its order.
        await ask("reqExecutions", ib.reqExecutionsAsync())
        held = await ask("reqPositions", ib.reqPositionsAsync())
        positions = {
            p.contract.symbol: Position(p.contract.symbol, float(p.position), float(p.position) * float(p.avgCost))
            for p in held
            if p.position and p.account == account
        }
        # ib.fills(), not the request's answer: an execution seen before keeps its first Fill, the one that
        # receives the commission report.
        return IbState(list(open_trades), list(completed), list(ib.fills()), positions)

    try:
        return load_ib_async().util.getLoop().run_until_complete(fetch())
    except ConnectionError as exc:
        raise BrokerError(f"the connection to IB dropped during reconciliation: {exc}") from None


def stock(symbol: str, exchange: str, currency: str) -> ib_async.Contract:
    """An unqualified IB stock contract."""
    return load_ib_async().Stock(symbol, exchange, currency)


def build_order(fields: IbOrderFields, account: str) -> ib_async.Order:
    """The ``ib_async.Order`` of mapped fields, for ``account``."""
    ib_order = load_ib_async().Order(
        action=fields.action,
        totalQuantity=float(fields.quantity),
        orderType=fields.order_type,
        tif=fields.tif,
        orderRef=fields.order_ref,
        account=account,
    )
    if fields.limit_price is not None:
        ib_order.lmtPrice = fields.limit_price
    return ib_order
