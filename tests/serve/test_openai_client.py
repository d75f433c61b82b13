"""The local server as an OpenAI client sees it: the official `openai` library (and raw httpx for
what the library never sends) against `kotodama serve` on loopback. Run by tests/serve/run.sh."""
import sys
import threading

import httpx
import openai

BASE, TOKEN = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=BASE, api_key=TOKEN, max_retries=0, timeout=120)
ASK = [{"role": "user", "content": "Tell me about your favourite tea."}]


def test_models_lists_the_bundled_personas():
    ids = [m.id for m in client.models.list()]
    assert "tsubaki" in ids, ids
    assert client.models.retrieve("tsubaki").id == "tsubaki"


def test_a_reply_whole_and_streamed_is_the_same_text():
    whole = client.chat.completions.create(model="tsubaki", messages=ASK)
    text = whole.choices[0].message.content
    assert text.strip(), whole
    assert whole.choices[0].finish_reason in ("stop", "length")
    assert whole.usage.completion_tokens > 0 and whole.usage.prompt_tokens > 0
    pieces = []
    usage = None
    for chunk in client.chat.completions.create(
        model="tsubaki", messages=ASK, stream=True, stream_options={"include_usage": True}
    ):
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
    assert len(pieces) > 3, pieces
    assert "".join(pieces) == text, ("".join(pieces), text)
    assert usage is not None and usage.completion_tokens == whole.usage.completion_tokens


def test_the_clients_system_prompt_and_history_are_accepted():
    reply = client.chat.completions.create(
        model="tsubaki",
        messages=[
            {"role": "system", "content": "The user is called Alex."},
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": "Welcome back."},
            {"role": "user", "content": [{"type": "text", "text": "What is my name?"}]},
        ],
    )
    assert reply.choices[0].message.content.strip()


def test_errors_are_the_libraries_exceptions():
    for call, error in [
        (lambda: client.chat.completions.create(model="nobody", messages=ASK), openai.NotFoundError),
        (
            lambda: openai.OpenAI(base_url=BASE, api_key="wrong", max_retries=0).models.list(),
            openai.AuthenticationError,
        ),
        (
            lambda: client.chat.completions.create(
                model="tsubaki", messages=[{"role": "assistant", "content": "Hi"}]
            ),
            openai.BadRequestError,
        ),
    ]:
        try:
            call()
        except error:
            continue
        raise AssertionError(f"expected {error.__name__}")
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    bad = httpx.post(f"{BASE}/chat/completions", content=b'{"model": ', headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error", bad.text
    huge = httpx.post(
        f"{BASE}/chat/completions",
        json={"model": "tsubaki", "messages": [{"role": "user", "content": "a" * (5 << 20)}]},
        headers=headers,
    )
    assert huge.status_code == 413, huge.status_code


def test_a_second_request_while_one_streams_is_refused_then_a_hangup_frees_the_slot():
    # The server admits one request at a time (--max-requests 1).
    long_ask = [{"role": "user", "content": "Count slowly from one to one hundred, one number per line."}]
    stream = client.chat.completions.create(model="tsubaki", messages=long_ask, stream=True)
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    try:
        client.chat.completions.create(model="tsubaki", messages=ASK)
        raise AssertionError("a second request was admitted")
    except openai.RateLimitError:
        pass
    stream.close()  # hang up mid-reply
    done = threading.Event()
    result = {}

    def again():
        for _ in range(600):
            try:
                result["reply"] = client.chat.completions.create(model="tsubaki", messages=ASK)
                break
            except openai.RateLimitError:
                done.wait(0.1)
        done.set()

    worker = threading.Thread(target=again)
    worker.start()
    worker.join(90)
    assert "reply" in result, "the slot was never freed after the hang-up"


if __name__ == "__main__":
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    for test in tests:
        test()
        print(f"ok  {test.__name__}")
    print(f"{len(tests)} passed")
