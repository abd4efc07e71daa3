"""An offline chat model that plays a weather agent's part: a tool call, then an answer."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

_CITY = re.compile(r"\bin\s+(?P<city>[^?!.,;]+)", re.IGNORECASE)
_WORDS = re.compile(r"\S+\s*")


def city_of(text: str) -> str:
    """The city a weather question names: "whats the weather in sf?" -> "sf"."""
    matches = list(_CITY.finditer(text))
    if matches:
        city = matches[-1].group("city").strip()
        if city:
            return city
    return text.strip()


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content]
    return "".join(parts)


class ScriptedChatModel(BaseChatModel):
    """Answers a human message with `search(query="weather in <city>")` and a tool result
    with "The weather in <city> is sunny and 72 degrees."."""

    tool_name: str = "search"

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": "scripted"}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def reply(self, messages: Sequence[BaseMessage]) -> AIMessage:
        """The whole answer to `messages`, as one message."""
        if messages and isinstance(messages[-1], ToolMessage):
            return AIMessage(
                content=f"The weather in {self._city(messages)} is sunny and 72 degrees."
            )
        if not messages:
            return AIMessage(content="Ask me about the weather somewhere.")
        return AIMessage(
            content="",
            tool_calls=[
                {
                    "name": self.tool_name,
                    "args": {"query": f"weather in {self._city(messages)}"},
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "tool_call",
                }
            ],
        )

    def _city(self, messages: Sequence[BaseMessage]) -> str:
        for message in reversed(messages):
            if isinstance(message, HumanMessage):
                return city_of(_text(message))
        return city_of(_text(messages[-1])) if messages else ""

    def _chunks(self, messages: Sequence[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        reply = self.reply(messages)
        if reply.tool_calls:
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {
                            "name": call["name"],
                            "args": json.dumps(call["args"]),
                            "id": call["id"],
                            "index": index,
                            "type": "tool_call_chunk",
                        }
                        for index, call in enumerate(reply.tool_calls)
                    ],
                )
            )
            return
        for word in _WORDS.findall(_text(reply)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.reply(messages))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)

    # The base class reports each chunk to the callbacks (on_llm_new_token), which is
    # what LangGraph's "messages" stream mode listens to: do not report them twice.
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(messages)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            yield chunk
